import Testing
@testable import AtpgateHTTP

/// The body framing a relay runs its bytes through (a pure value: the relay only moves bytes).
@Suite struct BodyFramerTests {
    /// Feeds `input` in pieces of `step` bytes until the framer stops taking bytes; returns what it emitted,
    /// what it left over and whether it completed.
    private func run(_ mode: BodyFramer.Mode, _ input: String, step: Int = .max) throws -> (out: String, rest: String, complete: Bool) {
        var framer = BodyFramer(mode)
        let bytes = Array(input.utf8)
        var out: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            let taken = try bytes[offset..<end].withUnsafeBytes { raw throws(HTTPHeadError) in
                try framer.consume(raw) { out += $0 }
            }
            offset += taken
            if taken < end - (offset - taken) { break }
        }
        return (String(decoding: out, as: UTF8.self), String(decoding: bytes[offset...], as: UTF8.self), framer.isComplete)
    }

    @Test("every mode, whatever the split: what goes on, what is left for the next message", arguments: [1, 3, Int.max])
    func modes(step: Int) throws {
        let length = try run(.length(5), "helloGET /next", step: step)
        #expect(length.out == "hello" && length.rest == "GET /next" && length.complete)
        let chunked = try run(.chunked, "5\r\nhello\r\n0\r\nT: v\r\n\r\nGET /next", step: step)
        #expect(chunked.out == "5\r\nhello\r\n0\r\nT: v\r\n\r\n" && chunked.rest == "GET /next" && chunked.complete)
        let dechunk = try run(.dechunk, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET", step: step)
        #expect(dechunk.out == "hello world" && dechunk.rest == "GET" && dechunk.complete)
        let stream = try run(.stream, "all of it", step: step)
        #expect(stream.out == "all of it" && stream.rest.isEmpty && !stream.complete)
    }

    @Test("a zero length body is complete before any byte; length bodies cap the next read")
    func lengthLimits() throws {
        #expect(BodyFramer(.length(0)).isComplete)
        var framer = BodyFramer(.length(10))
        #expect(framer.readLimit == 10)
        _ = try Array("abcd".utf8).withUnsafeBytes { raw throws(HTTPHeadError) in try framer.consume(raw) { _ in } }
        #expect(framer.readLimit == 6)
        #expect(BodyFramer(.chunked).readLimit == nil && BodyFramer(.stream).readLimit == nil)
    }

    @Test("only stream bodies may be spliced, and only they end cleanly when the source closes")
    func opaqueAndClose() {
        #expect(BodyFramer(.stream).isOpaque && BodyFramer(.stream).closeEndsBody)
        for mode in [BodyFramer.Mode.length(3), .chunked, .dechunk] {
            #expect(!BodyFramer(mode).isOpaque && !BodyFramer(mode).closeEndsBody)
        }
    }

    @Test("a malformed chunked body throws, and the framer stays failed")
    func malformedChunked() {
        var framer = BodyFramer(.chunked)
        #expect(throws: HTTPHeadError.self) {
            try Array("zz\r\n".utf8).withUnsafeBytes { raw throws(HTTPHeadError) in try framer.consume(raw) { _ in } }
        }
        #expect(throws: HTTPHeadError.self) {
            try Array("0\r\n\r\n".utf8).withUnsafeBytes { raw throws(HTTPHeadError) in try framer.consume(raw) { _ in } }
        }
    }
}
