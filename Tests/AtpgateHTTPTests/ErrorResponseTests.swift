import Testing
@testable import AtpgateHTTP

@Suite struct ErrorResponseTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    private func body(_ bytes: [UInt8]) -> String? {
        let t = text(bytes)
        guard let r = t.firstRange(of: "\r\n\r\n") else { return nil }
        return String(t[r.upperBound...])
    }

    @Test func exactBytes() throws {
        let out = ErrorResponse.bytes(status: 403, token: "policy-deny", message: "host not allowed")
        #expect(text(out) ==
            "HTTP/1.1 403 Forbidden\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Length: 17\r\n" +
            "X-Atpgate-Error: policy-deny\r\n" +
            "Connection: close\r\n" +
            "Cache-Control: no-store\r\n\r\n" +
            "host not allowed\n")
        let head = try HTTPResponseHead.parse(out)
        #expect(try head.bodyFraming(requestMethod: "GET") == .contentLength(17))
        #expect(!head.keepAlive)
    }

    @Test(arguments: [
        ("a\r\nb\tc\u{0}d\u{7F}e", "a  b c d e\n"),
        ("caf\u{E9}", "caf\u{E9}\n"),
        ("", "\n"),
    ])
    func messageIsOneSanitisedLine(message: String, body: String) {
        let out = text(ErrorResponse.bytes(status: 400, token: "t", message: message))
        #expect(out.hasSuffix("\r\n\r\n" + body))
        #expect(out.contains("Content-Length: \(body.utf8.count)\r\n"))
    }

    @Test func messageIsCappedOnACharacterBoundary() throws {
        let ascii = String(repeating: "a", count: 1000)
        let out1 = ErrorResponse.bytes(status: 502, token: "t", message: ascii)
        let body1 = try #require(body(out1))
        #expect(body1.utf8.count == 401)
        // 399 ASCII bytes then a 2-byte character straddling the cap: the character is dropped whole.
        let straddling = String(repeating: "a", count: 399) + "\u{E9}\u{E9}"
        let out2 = ErrorResponse.bytes(status: 502, token: "t", message: straddling)
        let body2 = try #require(body(out2))
        #expect(body2 == String(repeating: "a", count: 399) + "\n")
        #expect(!body2.contains("\u{FFFD}"))
    }

    @Test(arguments: [("bad token\r\n", "bad-token--"), ("", "-"), ("ok_token.1", "ok_token.1")])
    func tokenIsSanitised(token: String, expected: String) {
        let out = text(ErrorResponse.bytes(status: 400, token: token, message: "m"))
        #expect(out.contains("X-Atpgate-Error: \(expected)\r\n"))
    }

    @Test func statusOutOfRangeBecomes500() {
        #expect(text(ErrorResponse.bytes(status: 42, token: "t", message: "m")).hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
    }

    @Test func extraHeadersGoBeforeConnection() {
        let out = text(ErrorResponse.bytes(status: 407, token: "auth", message: "m",
                                           extraHeaders: [HTTPHeader(name: "Proxy-Authenticate", value: "Basic realm=\"atpgate\""),
                                                          HTTPHeader(name: "X-Bad", value: "a\r\nb")]))
        #expect(out.contains("X-Atpgate-Error: auth\r\nProxy-Authenticate: Basic realm=\"atpgate\"\r\nConnection: close\r\n"))
        #expect(!out.contains("X-Bad"))
    }

    @Test(arguments: [
        (200, "OK"), (400, "Bad Request"), (403, "Forbidden"), (405, "Method Not Allowed"),
        (407, "Proxy Authentication Required"), (408, "Request Timeout"), (411, "Length Required"),
        (413, "Content Too Large"), (414, "URI Too Long"), (431, "Request Header Fields Too Large"),
        (500, "Internal Server Error"), (501, "Not Implemented"), (502, "Bad Gateway"),
        (503, "Service Unavailable"), (504, "Gateway Timeout"), (505, "HTTP Version Not Supported"),
        (299, "Success"), (499, "Client Error"), (700, "Unknown"),
    ])
    func reasonPhrases(status: Int, phrase: String) {
        #expect(ErrorResponse.reasonPhrase(status) == phrase)
    }
}
