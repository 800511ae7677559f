import Testing
@testable import AtpgateTLSHello

/// Splits a handshake message into handshake records whose fragments have the given sizes (the last
/// record takes what is left).
fileprivate func helloRecords(_ message: [UInt8], fragments: [Int] = [], version: [UInt8] = [3, 1]) -> [UInt8] {
    var out: [UInt8] = []
    var offset = 0
    for (k, size) in (fragments + [message.count]).enumerated() where offset < message.count || k == 0 {
        let end = min(message.count, offset + size)
        let length = end - offset
        out += [0x16] + version + [UInt8(length >> 8), UInt8(length & 0xFF)] + message[offset..<end]
        offset = end
    }
    return out
}

/// Feeds `bytes` in appends of `step` bytes (alternating the two append variants) and checks that every
/// byte is kept.
fileprivate func reassemble(_ bytes: [UInt8], step: Int) -> HelloReassembler {
    var r = HelloReassembler()
    var offset = 0
    var k = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + step)
        if k % 2 == 0 { r.append(bytes[offset..<end]) } else { bytes[offset..<end].withUnsafeBytes { _ = r.append($0) } }
        offset = end
        k += 1
    }
    #expect(r.bytes == bytes)
    return r
}

/// A hello with a padding extension (0x0015) that makes its message exactly `total` bytes long.
fileprivate func paddedHello(total: Int) -> [UInt8] {
    var spec = HelloSpec(extensions: [.serverName("big.example")])
    let base = spec.message.count + 4   // the padding extension's own type and length
    spec.extensions!.append(.opaque(0x0015, [UInt8](repeating: 0, count: total - base)))
    let message = spec.message
    precondition(message.count == total)
    return message
}

@Suite struct HelloReassemblerTests {
    static let message = HelloSpec().message
    /// A small hello, for the exhaustive three-record splits.
    static let small = HelloSpec(sessionID: [], cipherSuites: [0x1301], extensions: [.serverName("s.example")]).message

    @Test func oneRecordInOneAppend() {
        var r = HelloReassembler()
        let records = helloRecords(Self.message)
        #expect(r.append(records) == .complete(handshakeMessage: Self.message))
        #expect(r.status == .complete(handshakeMessage: Self.message))
        #expect(r.helloEnd == records.count && r.bytes == records && r.failureReason == nil)
    }

    @Test func twoRecordsAtEveryBoundaryOneByteAtATime() {
        for split in 0...Self.message.count {
            let records = helloRecords(Self.message, fragments: [split == 0 ? Self.message.count : split])
            let r = reassemble(records, step: 1)
            #expect(r.status == .complete(handshakeMessage: Self.message), "split at \(split)")
            #expect(r.helloEnd == records.count)
        }
    }

    @Test func threeRecordsAtEveryPairOfBoundaries() {
        let message = Self.small
        for first in 1..<message.count {
            for second in 1..<(message.count - first) {
                let records = helloRecords(message, fragments: [first, second])
                for step in [1, 2, 7, records.count] {
                    let r = reassemble(records, step: step)
                    #expect(r.status == .complete(handshakeMessage: message), "split \(first)+\(second), step \(step)")
                    #expect(r.helloEnd == records.count)
                }
            }
        }
    }

    @Test func everyTruncationNeedsMore() {
        let records = helloRecords(Self.message, fragments: [3, 100])
        for end in 0..<records.count {
            let r = reassemble(Array(records[..<end]), step: 5)
            #expect(r.status == .needMore && r.helloEnd == nil && r.failureReason == nil, "cut at \(end)")
        }
    }

    @Test(arguments: [[3, 0], [3, 1], [3, 2], [3, 3], [3, 4]] as [[UInt8]])
    func recordVersionsOfRealStacksAreAccepted(_ version: [UInt8]) {
        let records = helloRecords(Self.message, fragments: [50], version: version)
        #expect(reassemble(records, step: records.count).status == .complete(handshakeMessage: Self.message))
    }

    /// Bytes after the hello (the rest of its record, the next record) are kept for forwarding, unread.
    @Test func bytesAfterTheHelloAreKeptNotRead() {
        let records = helloRecords(Self.message)
        let inRecord = [0x16, 3, 3, 0, UInt8(Self.message.count + 3)] + Self.message + [9, 9, 9]
        let cases: [(String, [UInt8], Int)] = [
            ("change_cipher_spec record", records + [0x14, 3, 3, 0, 1, 1], records.count),
            ("garbage", records + Array("GET / HTTP/1.1\r\n".utf8), records.count),
            ("rest of the record", inRecord, inRecord.count - 3),
        ]
        for (name, bytes, end) in cases {
            for step in [1, bytes.count] {
                var r = reassemble(bytes, step: step)
                #expect(r.status == .complete(handshakeMessage: Self.message), "\(name) step \(step)")
                #expect(r.helloEnd == end, "\(name)")
                r.append([0xFF, 0x00])   // after a verdict: kept, the verdict stands
                #expect(r.bytes == bytes + [0xFF, 0x00] && r.status == .complete(handshakeMessage: Self.message))
            }
        }
    }

    /// The handshake header itself split across records, down to one byte per record.
    @Test func oneByteRecords() {
        let records = helloRecords(Self.small, fragments: [Int](repeating: 1, count: Self.small.count))
        #expect(records.count == Self.small.count * 6)
        #expect(reassemble(records, step: 1).status == .complete(handshakeMessage: Self.small))
        #expect(reassemble(records, step: records.count).status == .complete(handshakeMessage: Self.small))
    }

    /// Records of 2^14 bytes, the largest plaintext fragment (RFC 8446 §5.1), carry a hello; 2^14 + 1 is
    /// not TLS, even though 2^14 + 256 would be a legal encrypted record.
    @Test func maximalRecords() {
        let message = paddedHello(total: 3 * 16384 + 100)
        let records = helloRecords(message, fragments: [16384, 16384, 16384])
        #expect(records.count == message.count + 4 * 5)
        for step in [1, 1000, records.count] {
            #expect(reassemble(records, step: step).status == .complete(handshakeMessage: message), "step \(step)")
        }
        for length in [16385, 16384 + 256, 0xFFFF] {
            var r = HelloReassembler()
            #expect(r.append([0x16, 3, 1, UInt8(length >> 8), UInt8(length & 0xFF)]) == .notTLS, "\(length)")
            #expect(r.failureReason == "handshake record length \(length) is outside 1...16384")
        }
    }

    @Test func largestHelloThatFitsAndTheFirstThatDoesNot() {
        // Four full-size records and one header past 64 KiB: 65541 bytes of input end the hello.
        let fits = paddedHello(total: HelloReassembler.maxInputLength - 4 * 5)
        let records = helloRecords(fits, fragments: [16384, 16384, 16384])
        #expect(records.count == HelloReassembler.maxInputLength)
        #expect(reassemble(records, step: 4096).status == .complete(handshakeMessage: fits))

        let tooBig = paddedHello(total: HelloReassembler.maxInputLength - 4 * 5 + 1)
        let more = helloRecords(tooBig, fragments: [16384, 16384, 16384])
        #expect(reassemble(more, step: 4096).status == .tooLarge)
        // Known as soon as the handshake header is in: no need to wait for 64 KiB.
        var early = HelloReassembler()
        #expect(early.append(more.prefix(9)) == .tooLarge)
        #expect(early.failureReason == "ClientHello needs more than 65541 bytes of records")
    }

    @Test func messageLengthOverTheLimitIsTooLargeAtOnce() {
        for length in [65533, 65536, 0xFFFFFF] {
            var r = HelloReassembler()
            let header: [UInt8] = [0x16, 3, 1, 0x40, 0, 1, UInt8(length >> 16), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            #expect(r.append(header) == .tooLarge, "\(length)")
            #expect(r.failureReason == "ClientHello of \(length + 4) bytes exceeds 65536")
        }
    }

    /// Tiny records cost five header bytes each: a hello in 1-byte records hits the input bound, and the
    /// reassembler never holds more than the bound plus one header before saying so.
    @Test func tinyRecordsHitTheInputBound() {
        let message = paddedHello(total: 12_000)
        let records = helloRecords(message, fragments: [Int](repeating: 1, count: message.count))
        var r = HelloReassembler()
        var fed = 0
        for byte in records {
            r.append([byte])
            fed += 1
            if r.status != .needMore { break }
        }
        #expect(r.status == .tooLarge)
        #expect(fed <= HelloReassembler.maxInputLength + 5)
        #expect(reassemble(records, step: records.count).status == .tooLarge)
        // 100-byte records of the same hello are fine.
        let fewer = helloRecords(message, fragments: [Int](repeating: 100, count: 120))
        #expect(reassemble(fewer, step: 1 << 14).status == .complete(handshakeMessage: message))
    }

    static let notTLS: [(String, [UInt8])] = [
        ("HTTP request", Array("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".utf8)),
        ("CONNECT in the tunnel", Array("CONNECT a:443 HTTP/1.1\r\n\r\n".utf8)),
        ("SSH banner", Array("SSH-2.0-OpenSSH_9.6\r\n".utf8)),
        ("TLS alert record", [0x15, 3, 3, 0, 2, 2, 40]),
        ("application data record", [0x17, 3, 3, 0, 3, 1, 2, 3]),
        ("change_cipher_spec first", [0x14, 3, 3, 0, 1, 1] + helloRecords(message)),
        ("SSLv2-style hello", [0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]),
        ("record version 2.0", [0x16, 2, 0, 0, 5]),
        ("record version 0x1301", [0x16, 0x13, 0x01, 0x01, 0x20, 0x01]),
        ("record version 3.5", [0x16, 3, 5, 0, 5]),
        ("record version 0x0403", [0x16, 4, 3, 0, 5]),
        ("empty handshake record", [0x16, 3, 1, 0, 0]),
        ("ServerHello", helloRecords([2] + message.dropFirst())),
        ("HelloRequest", helloRecords([0, 0, 0, 0])),
        ("alert between hello records", Array(helloRecords(message, fragments: [40]).prefix(45)) + [0x15, 3, 3, 0, 2, 2, 40]),
        ("second record of another type", helloRecords(Array(message.prefix(40))) + [0x17, 3, 3, 0, 1, 0]),
        ("empty record between hello records", helloRecords(Array(message.prefix(40))) + [0x16, 3, 3, 0, 0]),
    ]

    @Test(arguments: notTLS)
    func notTLSWholeOrByteByByte(_ name: String, _ bytes: [UInt8]) {
        let whole = reassemble(bytes, step: bytes.count)
        #expect(whole.failureReason?.isEmpty == false && whole.helloEnd == nil)
        for step in [1, 2, 3, bytes.count] {
            let r = reassemble(bytes, step: step)
            #expect(r.status == .notTLS, "\(name), step \(step)")
            // The reason too: fuzz-client-hello found one that named the bytes present, not those that decided.
            #expect(r.failureReason == whole.failureReason, "\(name), step \(step)")
        }
    }

    @Test func notTLSIsSeenOnTheFirstWrongByte() {
        for (bytes, reason) in [
            ("G", "first byte 0x47 is not a TLS handshake record"),
            ("\u{16}\u{2}", "record version 0x02 is not TLS"),
            ("\u{16}\u{3}\u{5}", "record version 0x03 0x05 is not TLS"),
        ] {
            var r = HelloReassembler()
            #expect(r.append(Array(bytes.utf8)) == .notTLS)
            #expect(r.failureReason == reason)
        }
        var r = HelloReassembler()
        #expect(r.append([0x16, 3, 1, 0, 9, 2]) == .notTLS)   // the handshake type, before the rest of the record
        #expect(r.failureReason == "handshake message type 2 is not ClientHello")
    }

    @Test func emptyAppendsChangeNothing() {
        var r = HelloReassembler()
        #expect(r.append([UInt8]()) == .needMore)
        [UInt8]().withUnsafeBytes { #expect(r.append($0) == .needMore) }
        #expect(r.bytes.isEmpty)
    }
}
