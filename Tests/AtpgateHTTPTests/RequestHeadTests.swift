import Testing
@testable import AtpgateHTTP

@Suite struct RequestHeadTests {
    @Test func parsesRequestLineAndFieldsInOrder() throws {
        let h = try parseRequest("GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\nX-Two: 1\r\nx-two:  2 \r\n\r\n")
        #expect(h.method == "GET")
        #expect(h.target == "http://a.example/x?y")
        #expect(h.version == .http1_1)
        #expect(h.headers == [HTTPHeader(name: "Host", value: "a.example"),
                              HTTPHeader(name: "X-Two", value: "1"),
                              HTTPHeader(name: "x-two", value: "2")])
        #expect(h.values("X-TWO") == ["1", "2"])
        #expect(h.values("missing") == [])
    }

    @Test func rawBufferAndArrayAgree() throws {
        let bytes = b("CONNECT a:443 HTTP/1.0\r\nA: b\r\n\r\n")
        let viaRaw = try bytes.withUnsafeBytes { raw in try HTTPRequestHead.parse(raw) }
        let viaArray = try HTTPRequestHead.parse(bytes)
        #expect(viaRaw.method == viaArray.method && viaRaw.target == viaArray.target)
        #expect(viaRaw.headers == viaArray.headers && viaRaw.version == .http1_0)
    }

    /// Valid heads: (input, expected header values) — OWS trimming, empty values, allowed bytes.
    @Test(arguments: [
        ("GET / HTTP/1.1\r\n\r\n", [String]()),
        ("\r\nGET / HTTP/1.1\r\n\r\n", []),                             // one leading empty line ignored
        ("GET / HTTP/1.1\r\nA:b\r\n\r\n", ["b"]),
        ("GET / HTTP/1.1\r\nA: \t b c \t\r\n\r\n", ["b c"]),           // OWS trimmed, inner kept
        ("GET / HTTP/1.1\r\nA:\r\n\r\n", [""]),
        ("GET / HTTP/1.1\r\nA:   \r\n\r\n", [""]),
        ("GET / HTTP/1.1\r\nA: x\u{7F}y\r\n\r\n", ["x\u{7F}y"]),       // DEL allowed
        ("GET / HTTP/1.1\r\nA: caf\u{E9}\r\n\r\n", ["caf\u{E9}"]),     // UTF-8 obs-text
        ("GET / HTTP/1.1\r\nA: a:b;c=\"d\"\r\n\r\n", ["a:b;c=\"d\""]),
        ("PATCH /%20?q=1&r HTTP/1.0\r\n!#$%&'*+-.^_`|~09az: v\r\n\r\n", ["v"]),
        ("GET / HTTP/1.1\r\nA: b\r\n\r\nGARBAGE\n\n", ["b"]),          // bytes after the head ignored
    ])
    func acceptsValid(input: String, values: [String]) throws {
        let h = try parseRequest(input)
        #expect(h.headers.map(\.value) == values)
    }

    /// Invalid heads and (a prefix of) the reason they produce.
    @Test(arguments: [
        // request line
        ("GET  / HTTP/1.1\r\n\r\n", "extra whitespace in request line"),
        ("GET /  HTTP/1.1\r\n\r\n", "extra whitespace in request line"),
        ("GET / HTTP/1.1 \r\n\r\n", "extra whitespace in request line"),
        (" GET / HTTP/1.1\r\n\r\n", "invalid request line ' GET / HTTP/1.1'"),
        ("G(T / HTTP/1.1\r\n\r\n", "invalid character in method 'G(T'"),
        ("GET\t/ HTTP/1.1\r\n\r\n", "invalid character in method"),
        ("GET /\u{7F} HTTP/1.1\r\n\r\n", "invalid character in request target"),
        ("GET /\u{E9} HTTP/1.1\r\n\r\n", "invalid character in request target"),
        ("GET /\u{01} HTTP/1.1\r\n\r\n", "invalid character in request target"),
        ("GET / HTTP/1.2\r\n\r\n", "unsupported HTTP version 'HTTP/1.2'"),
        ("GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version"),
        ("GET / HTTP/0.9\r\n\r\n", "unsupported HTTP version"),
        ("GET / http/1.1\r\n\r\n", "invalid HTTP version"),
        ("GET / HTTP/1.10\r\n\r\n", "invalid HTTP version"),
        ("GET / HTTP/11\r\n\r\n", "invalid HTTP version"),
        ("GET /\r\n\r\n", "missing HTTP version"),
        ("GET / \r\n\r\n", "missing HTTP version"),
        ("GET\r\n\r\n", "missing request target"),
        ("\r\n\r\n", "empty request line"),
        ("\r\n\r\nGET / HTTP/1.1\r\n\r\n", "empty request line"),      // only one empty line is ignored
        ("GET / HTTP/1.1", "incomplete head"),
        ("GET / HTTP/1.1\r\nA: b\r\n", "incomplete head"),
        ("", "incomplete head"),
        // line endings
        ("GET / HTTP/1.1\n\r\n", "bare LF in request line"),
        ("GET / HTTP/1.1\rX\r\n\r\n", "bare CR in request line"),
        ("GET /\r HTTP/1.1\r\n\r\n", "bare CR in request line"),
        ("\nGET / HTTP/1.1\r\n\r\n", "bare LF in request line"),
        ("GET / HTTP/1.1\r\nA: b\n\r\n", "bare LF in header section"),
        ("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "bare CR in header section"),
        ("GET / HTTP/1.1\r\nA: b\r\n\n", "bare LF in header section"),
        ("GET / HTTP/1.1\r\nA: b\r\n\rx", "bare CR in header section"),
        // field lines
        ("GET / HTTP/1.1\r\nA : b\r\n\r\n", "whitespace before colon in header 'A '"),
        ("GET / HTTP/1.1\r\nA\t: b\r\n\r\n", "whitespace before colon in header"),
        ("GET / HTTP/1.1\r\nX Y: b\r\n\r\n", "invalid character in header name 'X Y'"),
        ("GET / HTTP/1.1\r\nA(: b\r\n\r\n", "invalid character in header name 'A('"),
        ("GET / HTTP/1.1\r\n: b\r\n\r\n", "empty header name"),
        ("GET / HTTP/1.1\r\nNoColon\r\n\r\n", "missing colon in header line 'NoColon'"),
        ("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "obsolete line folding"),
        ("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", "obsolete line folding"),
        ("GET / HTTP/1.1\r\n A: b\r\n\r\n", "obsolete line folding"),
        ("GET / HTTP/1.1\r\nA: b\u{0}c\r\n\r\n", "invalid character in header value of 'A'"),
        ("GET / HTTP/1.1\r\nA: b\u{1B}c\r\n\r\n", "invalid character in header value of 'A'"),
        ("GET / HTTP/1.1\r\nA\u{0}: b\r\n\r\n", "invalid character in header name 'A\\x00'"),
        ("GET / HTTP/1.1\r\nA\u{E9}: b\r\n\r\n", "invalid character in header name"),
    ])
    func rejectsMalformed(input: String, reason: String) {
        let got = failure { () throws(HTTPHeadError) in try parseRequest(input) }
        #expect(got?.hasPrefix(reason) == true, "got \(String(describing: got))")
        if let got { #expect(isPrintableASCII(got)) }
    }

    @Test func emptyRawBufferIsIncomplete() {
        #expect(failure { () throws(HTTPHeadError) in try HTTPRequestHead.parse(UnsafeRawBufferPointer(start: nil, count: 0)) }
            == "incomplete head")
    }

    @Test func parsedAndConstructedFieldsCompareEqual() throws {
        let h = try parseRequest("GET / HTTP/1.1\r\nA: b\r\n\r\n")
        #expect(h.headers[0] == HTTPHeader(name: "A", value: "b"))
        #expect(h.headers[0].isValidated && !HTTPHeader(name: "A", value: "b").isValidated)
    }

    @Test func nonUTF8ValueIsKeptByteExactForForwarding() throws {
        let input: [UInt8] = b("GET / HTTP/1.1\r\nA: x") + [0xFF, 0xFE] + b("y\r\n\r\n")
        let h = try HTTPRequestHead.parse(input)
        #expect(h.headers[0].value == "x\u{FFFD}\u{FFFD}y")
        #expect(h.headers[0].rawValue == [0x78, 0xFF, 0xFE, 0x79])
        let out = HeadRewriter.upstreamRequest(h, host: "h", port: nil, path: "/")
        #expect(out.firstRange(of: b("A: x") + [0xFF, 0xFE] + b("y\r\n")) != nil)
        var edited = h
        edited.headers[0].value = "z"
        #expect(edited.headers[0].rawValue == nil)
    }

    @Test(arguments: [
        (HTTPVersion.http1_1, [String](), true),
        (.http1_1, ["close"], false),
        (.http1_1, ["Keep-Alive, CLOSE"], false),
        (.http1_1, ["keep-alive"], true),
        (.http1_1, ["foo", " close "], false),
        (.http1_1, ["closed"], true),
        (.http1_0, [], false),
        (.http1_0, ["keep-alive"], true),
        (.http1_0, ["Upgrade, Keep-Alive"], true),
        (.http1_0, ["keep-alive", "close"], false),
    ])
    func keepAlive(version: HTTPVersion, connection: [String], expected: Bool) {
        let h = HTTPRequestHead.make("GET", "/", connection.map { ("Connection", $0) }, version: version)
        #expect(h.keepAlive == expected)
    }

    @Test func errorDescription() {
        #expect(HTTPHeadError.tooLarge.description == "head too large")
        #expect(HTTPHeadError.malformed("x y").description == "x y")
    }
}
