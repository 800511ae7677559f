import Testing
@testable import AtpgateHTTP

@Suite struct HeadScannerTests {
    static let head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

    private func scan(_ scanner: inout HeadScanner, _ bytes: [UInt8]) throws(HTTPHeadError) -> Int? {
        try scanner.scan(bytes)
    }

    @Test func completeHeadInOneFeed() throws {
        var s = HeadScanner(limit: 1024)
        #expect(try scan(&s, b(Self.head)) == Self.head.utf8.count)
    }

    @Test func bytesAfterTheHeadAreNotCounted() throws {
        var s = HeadScanner(limit: 1024)
        #expect(try scan(&s, b(Self.head + "BODYBYTES\n\n")) == Self.head.utf8.count)
    }

    /// Every split point of the head, including each position inside the final CRLFCRLF.
    @Test(arguments: 0...(head.utf8.count))
    func resumesAcrossTwoFeeds(split: Int) throws {
        let all = b(Self.head)
        var s = HeadScanner(limit: 1024)
        if split < all.count {
            #expect(try scan(&s, Array(all[..<split])) == nil)
        }
        #expect(try scan(&s, all) == all.count)
    }

    @Test func byteByByte() throws {
        let all = b(Self.head)
        var s = HeadScanner(limit: 1024)
        for n in 1...all.count {
            let r = try scan(&s, Array(all[..<n]))
            #expect(r == (n == all.count ? all.count : nil))
        }
    }

    @Test func headOfExactlyLimitBytesIsAccepted() throws {
        let all = b(Self.head)
        var s = HeadScanner(limit: all.count)
        #expect(try scan(&s, all) == all.count)
        // Also when more bytes than the limit are buffered.
        var t = HeadScanner(limit: all.count)
        #expect(try scan(&t, all + b("xyz")) == all.count)
    }

    @Test(arguments: [1, 2, 3, 4])
    func headOverLimitIsTooLarge(excess: Int) {
        let all = b(Self.head)
        var s = HeadScanner(limit: all.count - excess)
        #expect(failure { () throws(HTTPHeadError) in try scan(&s, all) } == "tooLarge")
    }

    @Test func tooLargeOnlyOnceLimitBytesArrive() throws {
        var s = HeadScanner(limit: 10)
        #expect(try scan(&s, b("GET / HTT")) == nil)           // 9 bytes
        #expect(failure { () throws(HTTPHeadError) in try scan(&s, b("GET / HTTP")) } == "tooLarge")
    }

    @Test(arguments: ["GET / HTTP/1.1\n\n", "\nGET", "GET / HTTP/1.1\r\nA: b\n", "GET / HTTP/1.1\r\n\n"])
    func bareLFFailsFast(input: String) {
        var s = HeadScanner(limit: 1024)
        #expect(failure { () throws(HTTPHeadError) in try scan(&s, b(input)) } == "bare LF in head")
    }

    @Test func bareCRIsLeftToTheParser() throws {
        var s = HeadScanner(limit: 1024)
        #expect(try scan(&s, b("GET / HTTP/1.1\rX: y\r\n\r\n")) == 23)
    }

    @Test func resetAndShorterBufferStartOver() throws {
        var s = HeadScanner(limit: 1024)
        #expect(try scan(&s, b(Self.head)) != nil)
        s.reset()
        #expect(try scan(&s, b("GET /")) == nil)
        #expect(try scan(&s, b(Self.head)) == Self.head.utf8.count)
        // A shorter buffer than already scanned is treated as a new message.
        #expect(try scan(&s, b("G")) == nil)
        #expect(try scan(&s, b(Self.head)) == Self.head.utf8.count)
    }

    @Test func rawBufferEntryPoint() throws {
        var s = HeadScanner(limit: 1024)
        let r = try b(Self.head).withUnsafeBytes { raw in try s.scan(raw) }
        #expect(r == Self.head.utf8.count)
    }
}
