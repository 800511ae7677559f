import Testing
@testable import AtpgateHTTP

@Suite struct ChunkedFramerTests {
    /// Valid bodies; each is followed by "NEXT" in the tests to check the count stops exactly at the end.
    static let valid: [String] = [
        "0\r\n\r\n",
        "000\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "a\r\n0123456789\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n",
        "5;name=value\r\nhello\r\n0;last\r\n\r\n",
        "5 ;a=\"q s\"\r\nhello\r\n0\t;x\r\n\r\n",
        "4\r\n\r\n\r\n\r\n0\r\n\r\n",                                   // data may hold CRLFs
        "0\r\nExpires: never\r\nX-Sum:abc \r\n\r\n",
        "2\r\nhi\r\n0\r\nA:\r\n\r\n",
        "0000000000000000000000001\r\nx\r\n0\r\n\r\n",                  // leading zeros are not overflow
    ]

    private func consume(_ f: inout ChunkedFramer, _ bytes: [UInt8]) throws(HTTPHeadError) -> Int {
        try f.consume(bytes)
    }

    @Test(arguments: valid)
    func wholeBufferStopsExactlyAtTheEnd(body: String) throws {
        var f = ChunkedFramer()
        #expect(try consume(&f, b(body + "NEXT")) == body.utf8.count)
        #expect(f.isComplete)
        #expect(try consume(&f, b("more")) == 0)
    }

    @Test(arguments: valid)
    func oneByteAtATime(body: String) throws {
        var f = ChunkedFramer()
        let bytes = b(body)
        for (k, byte) in bytes.enumerated() {
            #expect(!f.isComplete)
            #expect(try consume(&f, [byte]) == 1, "byte \(k)")
        }
        #expect(f.isComplete)
        #expect(try consume(&f, b("x")) == 0)
    }

    @Test(arguments: valid)
    func everyTwoWaySplit(body: String) throws {
        let bytes = b(body + "NEXT")
        let total = body.utf8.count
        for split in 0...bytes.count {
            var f = ChunkedFramer()
            let first = try consume(&f, Array(bytes[..<split]))
            let second = try consume(&f, Array(bytes[first...]))
            #expect(first + second == total, "split \(split)")
            #expect(f.isComplete)
        }
    }

    @Test func incompleteBodyConsumesEverythingAndWaits() throws {
        var f = ChunkedFramer()
        #expect(try consume(&f, b("5\r\nhel")) == 6)
        #expect(!f.isComplete)
        #expect(try consume(&f, b("lo\r\n0\r\n")) == 7)
        #expect(!f.isComplete)
        #expect(try consume(&f, b("\r\n")) == 2)
        #expect(f.isComplete)
    }

    @Test func largeChunkSkipsDataInBulk() throws {
        var f = ChunkedFramer()
        let data = [UInt8](repeating: 0x0A, count: 100_000)
        #expect(try consume(&f, b("186A0\r\n")) == 7)
        #expect(try consume(&f, data) == data.count)
        #expect(try consume(&f, b("\r\n0\r\n\r\n")) == 7)
        #expect(f.isComplete)
    }

    @Test(arguments: [
        ("", "x\r\n", "invalid chunk size"),
        ("", "\r\n", "invalid chunk size"),
        ("", "+5\r\n", "invalid chunk size"),
        ("", "-5\r\n", "invalid chunk size"),
        ("", "0x5\r\n", "invalid chunk size"),
        ("", " 5\r\n", "invalid chunk size"),
        ("", "5 \r\n", "invalid chunk size"),
        ("", "5 x\r\n", "invalid chunk size"),
        ("", "5\n", "bare LF in chunk line"),
        ("", "5;x\n", "bare LF in chunk line"),
        ("", "5\rx", "bare CR in chunk line"),
        ("", "5;a\u{1}\r\n", "invalid character in chunk extension"),
        ("", "5;a\u{7F}\r\n", "invalid character in chunk extension"),
        ("", "10000000000000000\r\n", "chunk size too large"),
        ("", "FFFFFFFFFFFFFFFFF\r\n", "chunk size too large"),
        ("5\r\nhello", "X", "missing CRLF after chunk data"),
        ("5\r\nhello", "\n", "missing CRLF after chunk data"),
        ("5\r\nhello\r", "X", "missing CRLF after chunk data"),
        ("0\r\n", "\n", "bare LF in trailer section"),
        ("0\r\n", "\rX", "bare CR in trailer section"),
        ("0\r\n", " A: b\r\n", "obsolete line folding in trailer section"),
        ("0\r\n", ": b\r\n", "empty trailer field name"),
        ("0\r\n", "A b: c\r\n", "invalid character in trailer field name"),
        ("0\r\n", "A : c\r\n", "invalid character in trailer field name"),
        ("0\r\n", "A: b\n", "bare LF in trailer section"),
        ("0\r\n", "A: b\u{0}\r\n", "invalid character in trailer field value"),
        ("0\r\n", "A: b\rX", "bare CR in trailer section"),
    ])
    func rejects(prefix: String, bad: String, reason: String) throws {
        // Whole and byte-at-a-time must fail the same way.
        for byteWise in [false, true] {
            var f = ChunkedFramer()
            if !prefix.isEmpty { _ = try consume(&f, b(prefix)) }
            let got = failure { () throws(HTTPHeadError) in
                if byteWise { for byte in b(bad) { _ = try consume(&f, [byte]) } } else { _ = try consume(&f, b(bad)) }
            }
            #expect(got == reason, "byteWise \(byteWise)")
            // A failed framer stays failed.
            #expect(failure { () throws(HTTPHeadError) in try consume(&f, b("0\r\n\r\n")) } == "chunked body already failed")
        }
    }

    @Test func chunkLineLengthIsBounded() throws {
        var ok = ChunkedFramer(maxLineLength: 8)
        #expect(try consume(&ok, b("5;abcdef\r\n")) == 10)             // 8 bytes before CRLF: allowed
        var tooLong = ChunkedFramer(maxLineLength: 8)
        #expect(failure { () throws(HTTPHeadError) in try consume(&tooLong, b("5;abcdefg\r\n")) } == "chunk line too long")
        var digits = ChunkedFramer(maxLineLength: 4)
        #expect(failure { () throws(HTTPHeadError) in try consume(&digits, b("000001\r\n")) } == "chunk line too long")
    }

    @Test func trailerSectionIsBounded() throws {
        let trailer = "0\r\nA: 12345\r\n\r\n"        // trailer section incl. final CRLF: 10 + 2 = 12 bytes
        var ok = ChunkedFramer(maxTrailerBytes: 12)
        #expect(try consume(&ok, b(trailer)) == trailer.utf8.count)
        #expect(ok.isComplete)
        var tooBig = ChunkedFramer(maxTrailerBytes: 11)
        #expect(failure { () throws(HTTPHeadError) in try consume(&tooBig, b(trailer)) } == "trailer section too large")
    }

    @Test func resetStartsANewMessage() throws {
        var f = ChunkedFramer()
        _ = try consume(&f, b("0\r\n\r\n"))
        #expect(f.isComplete)
        f.reset()
        #expect(!f.isComplete)
        #expect(try consume(&f, b("1\r\nx\r\n0\r\n\r\n")) == 11)
        #expect(f.isComplete)
    }

    @Test func rawBufferEntryPoint() throws {
        var f = ChunkedFramer()
        let n = try b("0\r\n\r\nX").withUnsafeBytes { raw in try f.consume(raw) }
        #expect(n == 5 && f.isComplete)
    }
}
