import Testing
@testable import AtpgateHTTP

/// When the proxy may keep an upstream connection for the next request (the keep-alive pool), and what
/// the request it sends then says.
@Suite struct UpstreamReuseTests {
    private func plan(_ response: String, method: String = "GET", client: HTTPVersion = .http1_1) throws -> ResponsePlan {
        try ResponsePlan.make(try HTTPResponseHead.parse(Array(response.utf8)), requestMethod: method,
                              clientVersion: client, clientKeepAlive: true)
    }

    @Test("reusable: HTTP/1.1 with a framed end (length, chunked, none), also when de-chunked for a 1.0 client", arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "GET", HTTPVersion.http1_1),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", .http1_1),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", .http1_0),
        ("HTTP/1.1 204 No Content\r\n\r\n", "GET", .http1_1),
        ("HTTP/1.1 304 Not Modified\r\n\r\n", "GET", .http1_1),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "HEAD", .http1_1),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n", "GET", .http1_1),
        ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n", "GET", .http1_1),
        ("HTTP/1.1 200 OK\r\nConnection: keep-alive, x-other\r\nContent-Length: 0\r\n\r\n", "GET", .http1_1),
    ])
    func reusable(response: String, method: String, client: HTTPVersion) throws {
        #expect(try plan(response, method: method, client: client).upstreamReusable)
    }

    @Test("not reusable: the server closes, a close-delimited body, HTTP/1.0 without keep-alive", arguments: [
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.0 200 OK\r\n\r\n",
    ])
    func notReusable(response: String) throws {
        #expect(try !plan(response).upstreamReusable)
    }

    @Test("not reusable: no body by the rules, but a head that describes one (a server may send it anyway)", arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD"),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 120\r\n\r\n", "GET"),
        ("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "GET"),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 1, 2\r\n\r\n", "GET"),
    ])
    func bodylessDescribingABody(response: String, method: String) throws {
        #expect(try !plan(response, method: method).upstreamReusable)
    }

    @Test("the upstream request asks to close unless the proxy keeps the connection")
    func connectionField() throws {
        let head = try HTTPRequestHead.parse(Array("GET http://h/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".utf8))
        let closing = String(decoding: HeadRewriter.upstreamRequest(head, host: "h", port: nil, path: "/"), as: UTF8.self)
        #expect(closing == "GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 atpgate\r\nConnection: close\r\n\r\n")
        // The client's own Connection field is hop-by-hop: it never reaches the upstream either way.
        let kept = String(decoding: HeadRewriter.upstreamRequest(head, host: "h", port: nil, path: "/", keepAlive: true),
                          as: UTF8.self)
        #expect(kept == "GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 atpgate\r\n\r\n")
    }
}
