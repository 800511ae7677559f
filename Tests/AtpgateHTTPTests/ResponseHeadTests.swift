import Testing
@testable import AtpgateHTTP

@Suite struct ResponseHeadTests {
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nA: b\r\n\r\n", HTTPVersion.http1_1, 200, "OK"),
        ("HTTP/1.0 404 Not  Found \r\n\r\n", .http1_0, 404, "Not  Found "),
        ("HTTP/1.1 204 \r\n\r\n", .http1_1, 204, ""),
        ("HTTP/1.1 200\r\n\r\n", .http1_1, 200, ""),                      // missing SP + reason tolerated
        ("HTTP/1.1 599 x\ty\r\n\r\n", .http1_1, 599, "x\ty"),
        ("HTTP/1.1 100 Continue\r\n\r\n", .http1_1, 100, "Continue"),
    ])
    func parsesStatusLine(input: String, version: HTTPVersion, status: Int, reason: String) throws {
        let h = try parseResponse(input)
        #expect(h.version == version && h.status == status && h.reason == reason)
    }

    @Test func rawBufferEntryPointAndFields() throws {
        let h = try b("HTTP/1.1 301 Moved\r\nLocation: /x\r\nlocation: /y\r\n\r\n").withUnsafeBytes { raw in
            try HTTPResponseHead.parse(raw)
        }
        #expect(h.values("LOCATION") == ["/x", "/y"])
        #expect(h.keepAlive)
    }

    @Test(arguments: [
        ("HTTP/1.1 20 OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1 2000 OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1 099 OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1 600 OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1 abc OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1  200 OK\r\n\r\n", "invalid status code"),
        ("HTTP/2 200 OK\r\n\r\n", "invalid HTTP version"),
        ("HTTP/2.0 200 OK\r\n\r\n", "unsupported HTTP version"),
        ("ICY 200 OK\r\n\r\n", "invalid HTTP version"),
        ("HTTP/1.1\r\n\r\n", "missing status code"),
        ("HTTP/1.1 200 O\u{1}K\r\n\r\n", "invalid character in reason phrase"),
        ("HTTP/1.1 200 OK\n\r\n", "bare LF in status line"),
        ("HTTP/1.1 200 OK\rX\r\n\r\n", "bare CR in status line"),
        ("\r\nHTTP/1.1 200 OK\r\n\r\n", "empty status line"),
        ("HTTP/1.1 200 OK\r\nA : b\r\n\r\n", "whitespace before colon"),
        ("HTTP/1.1 200 OK\r\nA: b\r\n  c\r\n\r\n", "obsolete line folding"),
        ("", "incomplete head"),
    ])
    func rejectsMalformed(input: String, reason: String) {
        let got = failure { () throws(HTTPHeadError) in try parseResponse(input) }
        #expect(got?.hasPrefix(reason) == true, "got \(String(describing: got))")
    }
}
