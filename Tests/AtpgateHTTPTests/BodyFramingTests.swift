import Testing
@testable import AtpgateHTTP

@Suite struct BodyFramingTests {
    @Test(arguments: [
        ([(String, String)](), BodyFraming.none),
        ([("Content-Length", "0")], .contentLength(0)),
        ([("content-length", "42")], .contentLength(42)),
        ([("Content-Length", " 42 ")], .contentLength(42)),
        ([("Content-Length", "42"), ("Content-Length", "42")], .contentLength(42)),
        ([("Content-Length", "42, 42,42")], .contentLength(42)),
        ([("Content-Length", "007")], .contentLength(7)),
        ([("Content-Length", "9007199254740992")], .contentLength(9_007_199_254_740_992)),
        ([("Transfer-Encoding", "chunked")], .chunked),
        ([("Transfer-Encoding", "CHUNKED")], .chunked),
        ([("Transfer-Encoding", "gzip, chunked")], .chunked),
        ([("Transfer-Encoding", "gzip"), ("transfer-encoding", "chunked")], .chunked),
        ([("Transfer-Encoding", "gzip,,  chunked ,")], .chunked),
    ])
    func requestValid(headers: [(String, String)], expected: BodyFraming) throws {
        #expect(try HTTPRequestHead.make("POST", "/", headers).bodyFraming() == expected)
    }

    @Test(arguments: [
        ([("Content-Length", "5"), ("Transfer-Encoding", "chunked")], "both Content-Length and Transfer-Encoding"),
        ([("Content-Length", "5"), ("Content-Length", "6")], "conflicting Content-Length values"),
        ([("Content-Length", "5, 6")], "conflicting Content-Length values"),
        ([("Content-Length", "")], "invalid Content-Length"),
        ([("Content-Length", "5,")], "invalid Content-Length"),
        ([("Content-Length", ",5")], "invalid Content-Length"),
        ([("Content-Length", "+5")], "invalid Content-Length"),
        ([("Content-Length", "-5")], "invalid Content-Length"),
        ([("Content-Length", "5 5")], "invalid Content-Length"),
        ([("Content-Length", "0x10")], "invalid Content-Length"),
        ([("Content-Length", "5;")], "invalid Content-Length"),
        ([("Content-Length", "9007199254740993")], "Content-Length too large"),
        ([("Content-Length", "99999999999999999999999")], "Content-Length too large"),
        ([("Transfer-Encoding", "gzip")], "Transfer-Encoding must end in chunked"),
        ([("Transfer-Encoding", "chunked, gzip")], "Transfer-Encoding must end in chunked"),
        ([("Transfer-Encoding", "chunked, chunked")], "Transfer-Encoding must end in chunked"),
        ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], "Transfer-Encoding must end in chunked"),
        ([("Transfer-Encoding", "")], "Transfer-Encoding must end in chunked"),
        ([("Transfer-Encoding", "chunked;x=1")], "Transfer-Encoding must end in chunked"),
        ([("Transfer-Encoding", "xchunked")], "Transfer-Encoding must end in chunked"),
    ])
    func requestInvalid(headers: [(String, String)], reason: String) {
        let got = failure { () throws(HTTPHeadError) in try HTTPRequestHead.make("POST", "/", headers).bodyFraming() }
        #expect(got?.hasPrefix(reason) == true, "got \(String(describing: got))")
    }

    @Test func transferEncodingInHTTP10RequestIsRejected() {
        let h = HTTPRequestHead.make("POST", "/", [("Transfer-Encoding", "chunked")], version: .http1_0)
        #expect(failure { () throws(HTTPHeadError) in try h.bodyFraming() } == "Transfer-Encoding in HTTP/1.0 request")
    }

    @Test(arguments: [
        ("HEAD", 200, [("Content-Length", "10")], BodyFraming.none),
        ("HEAD", 200, [("Transfer-Encoding", "chunked")], .none),
        ("GET", 100, [], .none),
        ("GET", 101, [], .none),
        ("GET", 204, [("Content-Length", "10")], .none),
        ("GET", 304, [("Content-Length", "10")], .none),
        ("CONNECT", 200, [], .none),
        ("GET", 200, [("Transfer-Encoding", "chunked")], .chunked),
        ("GET", 200, [("Transfer-Encoding", "Chunked")], .chunked),
        ("GET", 200, [("Transfer-Encoding", "chunked"), ("Content-Length", "5")], .chunked),
        ("GET", 200, [("Content-Length", "5")], .contentLength(5)),
        ("GET", 200, [("Content-Length", "5, 5")], .contentLength(5)),
        ("GET", 404, [], .untilClose),
        ("POST", 500, [("Content-Length", "0")], .contentLength(0)),
    ])
    func response(method: String, status: Int, headers: [(String, String)], expected: BodyFraming) throws {
        #expect(try HTTPResponseHead.make(status, headers).bodyFraming(requestMethod: method) == expected)
    }

    /// The proxy relays only framing it can tell the client exactly (issue 8): an HTTP/1.0 response with
    /// Transfer-Encoding (RFC 9112 §6.1: faulty framing), `chunked` twice or not last, and other codings are refused.
    @Test func http10ResponseWithTransferEncodingIsRefused() {
        let h = HTTPResponseHead.make(200, [("Transfer-Encoding", "chunked")], version: .http1_0)
        #expect(failure { () throws(HTTPHeadError) in try h.bodyFraming(requestMethod: "GET") } == "Transfer-Encoding in an HTTP/1.0 response")
    }

    @Test(arguments: [
        [("Transfer-Encoding", "gzip, chunked")],
        [("Transfer-Encoding", "gzip")],
        [("Transfer-Encoding", "chunked, gzip")],
        [("Transfer-Encoding", "gzip"), ("Content-Length", "5")],
        [("Transfer-Encoding", "chunked, chunked")],
        [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
        [("Transfer-Encoding", "")],
    ])
    func responseTransferEncodingOtherThanOneChunkedThrows(headers: [(String, String)]) {
        let h = HTTPResponseHead.make(200, headers)
        #expect(failure { () throws(HTTPHeadError) in try h.bodyFraming(requestMethod: "GET") } != nil)
    }

    @Test(arguments: [
        [("Content-Length", "abc")],
        [("Content-Length", "5"), ("Content-Length", "6")],
        [("Content-Length", "-1")],
    ])
    func responseInvalidContentLengthThrows(headers: [(String, String)]) {
        let h = HTTPResponseHead.make(200, headers)
        #expect(failure { () throws(HTTPHeadError) in try h.bodyFraming(requestMethod: "GET") } != nil)
    }
}
