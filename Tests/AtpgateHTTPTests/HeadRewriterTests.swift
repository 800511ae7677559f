import Testing
@testable import AtpgateHTTP

@Suite struct HeadRewriterTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func upstreamRequestExactBytes() throws {
        let head = try parseRequest(
            "GET http://example.com:8080/a?b HTTP/1.1\r\n" +
            "Host: wrong.example\r\n" +
            "User-Agent: t\r\n" +
            "Proxy-Connection: keep-alive\r\n" +
            "Proxy-Authorization: Basic eA==\r\n" +
            "Connection: keep-alive, X-Hop\r\n" +
            "X-Hop: 1\r\n" +
            "Keep-Alive: timeout=5\r\n" +
            "TE: trailers\r\n" +
            "Trailer: X-Sum\r\n" +
            "Upgrade: websocket\r\n" +
            "Accept: */*\r\n\r\n")
        let out = HeadRewriter.upstreamRequest(head, host: "example.com", port: 8080, path: "/a?b")
        #expect(text(out) ==
            "GET /a?b HTTP/1.1\r\n" +
            "Host: example.com:8080\r\n" +
            "User-Agent: t\r\n" +
            "Accept: */*\r\n" +
            "Via: 1.1 atpgate\r\n" +
            "Connection: close\r\n\r\n")
        // The output is itself a valid head.
        let reparsed = try HTTPRequestHead.parse(out)
        #expect(reparsed.target == "/a?b" && reparsed.values("host") == ["example.com:8080"])
    }

    @Test(arguments: [
        (UInt16?.none, "Host: h.example\r\n"),
        (80, "Host: h.example\r\n"),
        (443, "Host: h.example:443\r\n"),
        (8080, "Host: h.example:8080\r\n"),
    ])
    func hostPortOnlyWhenNot80(port: UInt16?, expected: String) {
        let out = text(HeadRewriter.upstreamRequest(.make("GET", "/", [("host", "x")]), host: "h.example", port: port, path: "/"))
        #expect(out.hasPrefix("GET / HTTP/1.1\r\n" + expected))
        #expect(!out.contains("host: x"))
    }

    @Test func versionIsAlways11AndIPv6HostKeepsBrackets() {
        let out = text(HeadRewriter.upstreamRequest(.make("HEAD", "http://[::1]:81/", [], version: .http1_0),
                                                    host: "[::1]", port: 81, path: "/"))
        #expect(out == "HEAD / HTTP/1.1\r\nHost: [::1]:81\r\nVia: 1.1 atpgate\r\nConnection: close\r\n\r\n")
    }

    @Test(arguments: [
        ([("Via", "1.0 fred")], "Via: 1.0 fred, 1.1 atpgate\r\n"),
        ([("via", "1.0 a"), ("VIA", "1.1 b")], "via: 1.0 a\r\nVIA: 1.1 b, 1.1 atpgate\r\n"),
        ([("Via", "")], "Via: 1.1 atpgate\r\n"),
        ([("Via", "1.0 a"), ("Connection", "via")], "Via: 1.1 atpgate\r\n"),
    ])
    func viaIsAppended(headers: [(String, String)], expected: String) {
        let out = text(HeadRewriter.upstreamRequest(.make("GET", "/", headers), host: "h", port: nil, path: "/"))
        #expect(out.contains(expected), "\(out)")
        #expect(out.ranges(of: "atpgate").count == 1)
    }

    @Test(arguments: [
        // Connection names fields case-insensitively, across several Connection fields.
        ([("Connection", "x-a"), ("connection", "X-B"), ("x-a", "1"), ("X-B", "2"), ("X-C", "3")], ["X-C: 3"], ["x-a", "X-B"]),
        // Connection cannot strip framing fields or Host.
        ([("Connection", "Content-Length, Transfer-Encoding, Host"), ("Content-Length", "3")], ["Content-Length: 3"], []),
        // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
        ([("Transfer-Encoding", "chunked"), ("Content-Length", "3")], ["Transfer-Encoding: chunked"], ["Content-Length"]),
        // Fields that could split the head are dropped.
        ([("X-Bad", "a\r\nInjected: 1"), ("Bad Name", "v"), ("X-Ok", "v")], ["X-Ok: v"], ["Injected", "Bad Name", "X-Bad"]),
    ])
    func hopByHopAndSafety(headers: [(String, String)], present: [String], absent: [String]) {
        let out = text(HeadRewriter.upstreamRequest(.make("POST", "/", headers), host: "h", port: nil, path: "/"))
        for p in present { #expect(out.contains(p + "\r\n"), "\(p) in \(out)") }
        for a in absent { #expect(!out.lowercased().contains(a.lowercased() + ":"), "\(a) in \(out)") }
        #expect(out.hasSuffix("Connection: close\r\n\r\n"))
    }

    @Test func editedParsedFieldsAreCheckedAgain() throws {
        var head = try parseRequest("GET / HTTP/1.1\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n\r\n")
        head.headers[0].value = "1\r\nInjected: yes"
        head.headers[1].name = "X B"
        let out = text(HeadRewriter.upstreamRequest(head, host: "h", port: nil, path: "/"))
        #expect(out == "GET / HTTP/1.1\r\nHost: h\r\nX-C: 3\r\nVia: 1.1 atpgate\r\nConnection: close\r\n\r\n")
    }

    @Test func pathAndMethodAreSanitisedDefensively() {
        let out = text(HeadRewriter.upstreamRequest(.make("G T", "/", []), host: "h\r\nX: y", port: nil, path: "/a b\r\n"))
        #expect(out.hasPrefix("GT /a%20b%0D%0A HTTP/1.1\r\nHost: hX:y\r\n"))
        let empty = text(HeadRewriter.upstreamRequest(.make("GET", "/", []), host: "h", port: nil, path: ""))
        #expect(empty.hasPrefix("GET / HTTP/1.1\r\n"))
    }

    @Test(arguments: [
        (false, HTTPVersion.http1_1, ""),
        (false, .http1_0, "Connection: keep-alive\r\n"),
        (true, .http1_1, "Connection: close\r\n"),
        (true, .http1_0, "Connection: close\r\n"),
    ])
    func clientResponse(close: Bool, clientVersion: HTTPVersion, connection: String) throws {
        let head = try parseResponse(
            "HTTP/1.0 404 Not Found\r\n" +
            "Content-Length: 3\r\n" +
            "Connection: close, X-Hop\r\n" +
            "X-Hop: 1\r\n" +
            "Keep-Alive: timeout=5\r\n" +
            "Via: 1.0 up\r\n" +
            "Set-Cookie: a=b\r\n\r\n")
        let out = HeadRewriter.clientResponse(head, close: close, clientVersion: clientVersion)
        #expect(text(out) ==
            "HTTP/1.1 404 Not Found\r\n" +
            "Content-Length: 3\r\n" +
            "Via: 1.0 up, 1.1 atpgate\r\n" +
            "Set-Cookie: a=b\r\n" +
            connection + "\r\n")
    }

    @Test func clientResponseEmptyReasonAndControlBytes() {
        var head = HTTPResponseHead.make(200, [])
        head.reason = ""
        #expect(text(HeadRewriter.clientResponse(head, close: false, clientVersion: .http1_1))
            == "HTTP/1.1 200 \r\nVia: 1.1 atpgate\r\n\r\n")
        head.reason = "O\r\nK"
        #expect(text(HeadRewriter.clientResponse(head, close: true, clientVersion: .http1_1))
            .hasPrefix("HTTP/1.1 200 O  K\r\nVia: 1.1 atpgate\r\nConnection: close\r\n\r\n"))
    }

    @Test func clientResponseDropsContentLengthWhenChunked() throws {
        let head = try parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n")
        let out = text(HeadRewriter.clientResponse(head, close: false, clientVersion: .http1_1))
        #expect(out == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nVia: 1.1 atpgate\r\n\r\n")
    }
}
