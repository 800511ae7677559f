import AtpgateNet
import AtpgatePolicy
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

    /// fuzz-policy (hand-made input, run through the target): eight lines of anchors nesting aliases, ten per
    /// level, then a duplicate key. Locating the repeated key walked the composed tree, and an alias is composed
    /// as a copy of its anchor's node, so the walk visited 10^8 nodes and the load never finished. Now each
    /// collection is searched once, and the error still points at the second occurrence.
    @Test(.timeLimit(.minutes(1)))
    func duplicateKeyAfterAliasBombLoadsQuickly() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...7 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        yaml += "z: {version: 1, version: 1}\n"
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(Fixture.loadError(yaml))
        #expect(clock.now - start < .seconds(5))   // milliseconds now; about 12 s in a debug build before the fix
        #expect(error.line == 9 && error.column == 17, "\(error)")
        #expect(error.message == "duplicate key 'version'")
    }

    /// The same search through an alias of a mapping that holds the duplicate: found inside the anchor itself.
    @Test func duplicateKeyInsideAnAnchoredMapping() throws {
        let yaml = "version: 1\nhosts: &h\n  a.com: 1.1.1.1\n  a.com: 2.2.2.2\nx: *h\n"
        let error = try #require(Fixture.loadError(yaml))
        #expect(error.line == 4 && error.column == 3, "\(error)")
    }
}
