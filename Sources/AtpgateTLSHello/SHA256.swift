/// SHA-256 (FIPS 180-4, section 6.2), for the JA4 fingerprint's two hashed parts.
///
/// Written out here because this target stays pure (no Foundation, no OpenSSL, no CryptoKit: it must
/// build and behave the same on every platform the proxy builds on). JA4 hashes only a few hundred
/// bytes of text per connection, so a straightforward one-block-at-a-time implementation is enough.
/// Not for secrets: nothing here tries to be constant-time.
struct SHA256 {
    /// FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the
    /// first 64 primes.
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// FIPS 180-4 section 5.3.3: the initial hash value H(0). Eight stored words rather than an array:
    /// no heap, no bounds checks in the compression loop.
    private var h0: UInt32 = 0x6a09e667, h1: UInt32 = 0xbb67ae85, h2: UInt32 = 0x3c6ef372, h3: UInt32 = 0xa54ff53a
    private var h4: UInt32 = 0x510e527f, h5: UInt32 = 0x9b05688c, h6: UInt32 = 0x1f83d9ab, h7: UInt32 = 0x5be0cd19
    /// Bytes not yet hashed: always fewer than one 64-byte block between calls.
    private var pending: [UInt8] = []
    /// Bytes already compressed (the padding stores the message length in bits, modulo 2^64).
    private var length: UInt64 = 0

    init() {}

    /// Adds bytes to the message. Streaming, so the million-'a' test vector need not sit in memory.
    mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        guard done == nil else { return }
        let copy = Array(bytes)
        copy.withUnsafeBytes { update($0) }
    }

    /// Adds bytes to the message: whole blocks are compressed straight from `bytes`, only a partial
    /// block is kept.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        if !pending.isEmpty {
            let take = min(64 - pending.count, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { compress($0) }
            length &+= 64
            pending.removeAll(keepingCapacity: true)
        }
        while rest.count >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: rest.prefix(64)))
            length &+= 64
            rest = rest.dropFirst(64)
        }
        if !rest.isEmpty { pending.append(contentsOf: rest) }
    }

    /// The 32-byte digest of the bytes added so far. Pads a copy, so the hasher itself is unchanged.
    func finalize() -> [UInt8] {
        var last = self
        pending.withUnsafeBytes { last.finish(tail: $0, total: length &+ UInt64(pending.count)) }
        return [UInt8](unsafeUninitializedCapacity: 32) { digest, count in
            last.store(into: UnsafeMutableRawBufferPointer(digest))
            count = 32
        }
    }

    /// The first `digest.count` (at most 32) bytes of the digest of `bytes`, with no heap allocation: whole
    /// blocks straight from `bytes`, the padded tail on the stack. What JA4 uses (it keeps six bytes).
    static func digest(of bytes: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
        var hasher = SHA256()
        let whole = bytes.count & ~63
        var offset = 0
        while offset < whole {
            hasher.compress(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 64]))
            offset += 64
        }
        hasher.finish(tail: UnsafeRawBufferPointer(rebasing: bytes[whole...]), total: UInt64(bytes.count))
        hasher.store(into: digest)
    }

    /// Section 5.1.1: the last bytes (fewer than 64), a 1 bit, zeros up to 56 bytes mod 64, then the message
    /// length in bits, big-endian; compressed from a stack buffer.
    private mutating func finish(tail: UnsafeRawBufferPointer, total: UInt64) {
        let bitLength = total &* 8
        let padded = tail.count < 56 ? 64 : 128
        withUnsafeTemporaryAllocation(byteCount: padded, alignment: 8) { block in
            block.initializeMemory(as: UInt8.self, repeating: 0)
            block.copyMemory(from: tail)
            block[tail.count] = 0x80
            for index in 0..<8 {
                block[padded - 1 - index] = UInt8(truncatingIfNeeded: bitLength >> UInt64(8 * index))
            }
            compress(UnsafeRawBufferPointer(rebasing: block[0..<64]))
            if padded == 128 { compress(UnsafeRawBufferPointer(rebasing: block[64..<128])) }
        }
    }

    /// The state words big-endian, as many bytes as `digest` holds (at most 32).
    private func store(into digest: UnsafeMutableRawBufferPointer) {
        let words = (h0, h1, h2, h3, h4, h5, h6, h7)
        withUnsafeBytes(of: words) { raw in
            for index in 0..<min(digest.count, 32) {
                // Each word's bytes in memory are little- or big-endian; take them by arithmetic instead.
                let word = raw.load(fromByteOffset: index & ~3, as: UInt32.self)
                digest[index] = UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * (index & 3)))
            }
        }
    }

    /// The digest of `bytes`.
    static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `bytes` as 64 lower-case hex digits (JA4 requires lower case).
    static func hexDigest<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        hex(hash(bytes))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Section 6.2.2: one 64-byte block into the state.
    private mutating func compress(_ block: UnsafeRawBufferPointer) {
        precondition(block.count == 64)
        // The message schedule lives on the stack: a heap array per block was a measurable part of the
        // proxy's cost per peeked tunnel (two JA4 hashes each).
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 {
                w[t] = UInt32(block[4 * t]) << 24 | UInt32(block[4 * t + 1]) << 16 | UInt32(block[4 * t + 2]) << 8
                    | UInt32(block[4 * t + 3])
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var a = h0, b = h1, c = h2, d = h3
            var e = h4, f = h5, g = h6, h = h7
            Self.k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                    let choose = (e & f) ^ (~e & g)
                    let t1 = h &+ sum1 &+ choose &+ k[t] &+ w[t]
                    let sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = sum0 &+ majority
                    h = g; g = f; f = e; e = d &+ t1
                    d = c; c = b; b = a; a = t1 &+ t2
                }
            }
            h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
            h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
        }
    }

    private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
        x >> n | x << (32 - n)
    }
}
