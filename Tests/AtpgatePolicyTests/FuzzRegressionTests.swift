import AtpgateNet
import Testing

/// Inputs found by the libFuzzer targets (scripts/fuzz), each kept as the bytes that failed, with the
/// behaviour the fix guarantees.
struct FuzzRegressionTests {
    /// fuzz-authority, crash-83822b2a8a8d8c17794733b270944aad55e53331: "[" U+0301 "::1]" normalised to [::1].
    /// The brackets were stripped as Characters, and "[" with a combining mark is one Character, so the mark
    /// went with the bracket and a non-ASCII host passed as an IPv6 literal.
    @Test(arguments: [
        [0x5B, 0xCC, 0x81, 0x3A, 0x3A, 0x31, 0x5D] as [UInt8],     // the crash input: [ U+0301 ::1 ]
        Array("[\u{200D}::1]".utf8),                                // zero-width joiner
        Array("[\u{FE0F}2001:db8::1]".utf8),                        // variation selector
        Array("[\u{301}\u{301}::ffff:1.2.3.4]".utf8),
    ])
    func bracketWithCombiningMarkIsRefused(bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(throws: HostError.self) { try Host.normalize(text) }
        do {
            _ = try Host.normalize(text)
        } catch {
            #expect(error.reason.contains("invalid IPv6 literal"))
        }
    }

    @Test func bracketedLiteralsStillNormalise() throws {
        #expect(try Host.normalize("[::1]") == .ip(.v6(0, 1)))
        #expect(try Host.normalize("[2001:DB8::1]").description == "[2001:db8::1]")
    }
}
