import Testing
@testable import AtpgateHTTP

@Suite struct ByteClassTests {
    @Test(arguments: [
        (ByteClass.tchar, ByteClass.tcharMembers),
        (ByteClass.regName, ByteClass.regNameMembers),
        (ByteClass.ipv6Literal, ByteClass.ipv6LiteralMembers),
        (ByteClass.schemeTail, ByteClass.schemeTailMembers),
        (ByteClass.alphaSet, ByteClass.alpha),
    ])
    func constantMasksMatchTheirDefinition(set: ByteSet, members: String) {
        #expect(set == ByteSet(members))
        for byte in 0...255 {
            #expect(set.contains(UInt8(byte)) == members.utf8.contains(UInt8(byte)))
        }
    }

    @Test func visibleIsExactlyVCHAR() {
        for byte in 0...255 { #expect(ByteClass.isVisible(UInt8(byte)) == (0x21...0x7E).contains(byte)) }
    }

    @Test(arguments: [
        ([UInt8](b("X Y")), "'X Y'"),
        ([0x41, 0x0D, 0x0A, 0x00, 0x27, 0xFF], "'A\\x0D\\x0A\\x00\\x27\\xFF'"),
    ])
    func quoteNeverEmitsControlBytes(input: [UInt8], expected: String) {
        let q = ByteText.quote(input)
        #expect(q == expected)
        #expect(isPrintableASCII(q))
    }

    @Test func quoteIsCapped() {
        let q = ByteText.quote([UInt8](repeating: 0x41, count: 500), max: 10)
        #expect(q == "'AAAAAAAAAA...'")
    }
}
