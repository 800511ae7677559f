import Testing
@testable import AtpgateHTTP

@Suite("Chunked decoding")
struct ChunkedDecodeTests {
    static let body = Array("5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: t\r\n\r\nNEXT".utf8)

    @Test("onData sees exactly the chunk data, for every split of the input")
    func dataRunsOnEverySplit() throws {
        for split in 1..<Self.body.count {
            var framer = ChunkedFramer()
            var data: [UInt8] = []
            var consumed = 0
            for part in [Array(Self.body[..<split]), Array(Self.body[split...])] {
                consumed += try part.withUnsafeBytes { raw in
                    try Result { () throws(HTTPHeadError) in
                        try framer.consume(raw) { data += $0 }
                    }.get()
                }
                if framer.isComplete { break }
            }
            #expect(String(decoding: data, as: UTF8.self) == "hello world", "split at \(split)")
            #expect(framer.isComplete)
            #expect(consumed == Self.body.count - 4, "split at \(split)")
        }
    }
}
