import Testing
@testable import AtpgateTLSHello

@Suite("SHA-256")
struct SHA256Tests {
    /// The examples of FIPS 180-4 (NIST's "SHA256.pdf", "SHA2_Additional.pdf").
    @Test("the NIST example messages", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        // 448 bits: the padding's length field no longer fits in the message's only block.
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        // 896 bits.
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func nistExamples(message: String, digest: String) {
        #expect(SHA256.hexDigest(message.utf8) == digest)
    }

    @Test("one million 'a'")
    func millionA() {
        // Fed in uneven pieces, so block boundaries fall inside update calls too.
        var hasher = SHA256()
        var left = 1_000_000
        var piece = 1
        while left > 0 {
            let n = min(piece, left)
            hasher.update(repeatElement(UInt8(ascii: "a"), count: n))
            left -= n
            piece = piece % 997 + 13
        }
        #expect(SHA256.hex(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the padding boundaries (55 bytes still takes one block, 56 needs two; 64 and
    /// 120 are whole blocks). Expected values from Python's hashlib, an independent implementation.
    @Test("messages around the 56- and 64-byte padding boundaries", arguments: [
        (55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"),
        (56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"),
        (63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"),
        (64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"),
        (65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"),
        (119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"),
        (120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"),
    ])
    func boundaries(length: Int, digest: String) {
        // The message is the bytes 0, 1, 2, …, length - 1.
        let message = (0..<length).map { UInt8($0) }
        #expect(SHA256.hexDigest(message) == digest)
        // The allocation-free one-shot form JA4 uses, whole and cut to a prefix.
        var whole = [UInt8](repeating: 0, count: 32)
        var six = [UInt8](repeating: 0, count: 6)
        message.withUnsafeBytes { bytes in
            whole.withUnsafeMutableBytes { SHA256.digest(of: bytes, into: $0) }
            six.withUnsafeMutableBytes { SHA256.digest(of: bytes, into: $0) }
        }
        #expect(SHA256.hex(whole) == digest)
        #expect(SHA256.hex(six) == String(digest.prefix(12)))
    }

    @Test("the one-shot digest equals the streaming one for every length up to three blocks")
    func oneShotMatchesStreaming() {
        for length in 0...192 {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var digest = [UInt8](repeating: 0, count: 32)
            message.withUnsafeBytes { bytes in digest.withUnsafeMutableBytes { SHA256.digest(of: bytes, into: $0) } }
            #expect(digest == SHA256.hash(message), "length \(length)")
        }
    }

    @Test("any split of the input gives the one-shot digest, and finalize leaves the hasher usable")
    func streaming() {
        let message = Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
        let whole = SHA256.hash(message)
        for split in 0...message.count {
            var hasher = SHA256()
            hasher.update(message[..<split])
            _ = hasher.finalize()
            hasher.update(message[split...])
            #expect(hasher.finalize() == whole, "split at \(split)")
        }
    }
}
