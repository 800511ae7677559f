import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine

/// Every failure the proxy answers itself: the status, the X-Atpgate-Error token, a one-line reason.
@Suite("Error statuses")
struct ErrorStatusTests {
    static func expectError(_ answer: String, status: Int, token: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "answer: \(answer)", sourceLocation: sourceLocation)
        #expect(answer.contains("X-Atpgate-Error: \(token)\r\n"), "answer: \(answer)", sourceLocation: sourceLocation)
        let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined()
        #expect(body.hasSuffix("\n") && body.dropLast().contains("\n") == false && !body.isEmpty,
                "body must be one line: \(body)", sourceLocation: sourceLocation)
    }

    @Test("connection refused -> 502 connect-refused")
    func refused() throws {
        let port = TestServer.closedPort()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["gone.test:\(port)"], hosts: ["gone.test": "127.0.0.1"]))
        let answer = try proxy.rawExchange("CONNECT gone.test:\(port) HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 502, token: "connect-refused")
        let record = try #require(proxy.waitForLog().first)
        #expect(record.error == "connect-refused")
        #expect(record.status == 502)
        #expect(record.decision == "error")
    }

    @Test("resolver failure -> 502 dns-failed")
    func resolverFailure() throws {
        let resolver = StubResolver(["nx.test": .failure(.notFound("NXDOMAIN"))])
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["nx.test"]), resolver: resolver)
        let answer = try proxy.rawExchange("CONNECT nx.test:443 HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 502, token: "dns-failed")
        #expect(resolver.names == ["nx.test"])
    }

    @Test("resolver timeout -> 504 dns-timeout")
    func resolverTimeout() throws {
        let resolver = StubResolver(["slow.test": .never])
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["slow.test"], extra: "timeouts: {dns: 300ms}\n"),
                                     resolver: resolver)
        let answer = try proxy.rawExchange("CONNECT slow.test:443 HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 504, token: "dns-timeout")
    }

    @Test("resolver queue full -> 504 resolver-busy")
    func resolverBusy() throws {
        let resolver = StubResolver(["busy.test": .failure(.busy)])
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["busy.test"]), resolver: resolver)
        let answer = try proxy.rawExchange("CONNECT busy.test:443 HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 504, token: "resolver-busy")
    }

    @Test("an address in a denied range -> 403 address-denied; the good addresses are not dialled either")
    func addressDenied() throws {
        let upstream = try TestServer.echo()
        let resolver = StubResolver(["mixed.test": .addresses(["127.0.0.1", "10.1.2.3"])])
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["mixed.test:\(upstream.port)"]), resolver: resolver)
        let answer = try proxy.rawExchange("CONNECT mixed.test:\(upstream.port) HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 403, token: "address-denied")
        #expect(answer.contains("10.1.2.3"))
        #expect(answer.contains("10.0.0.0/8"))
        #expect(upstream.acceptedCount == 0)
        let record = try #require(proxy.waitForLog().first)
        #expect(record.rule == "builtin:10.0.0.0/8")
        #expect(record.decision == "deny")
    }

    @Test("the proxy's own listening address is never dialled")
    func selfAddressDenied() throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["127.0.0.1:1-65535"]))
        let answer = try proxy.rawExchange("CONNECT 127.0.0.1:\(proxy.port) HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 403, token: "address-denied")
        #expect(answer.contains("own listening address"))
    }

    @Test("connect timeout -> 504 connect-timeout (a loopback listener whose backlog is full)")
    func connectTimeout() throws {
        // backlog 0 and never accepting: once the queue holds a connection, further SYNs are dropped.
        let blackhole = try TestServer(backlog: 0, accepting: false) { _ in }
        var fillers: [BlockingSocket] = []
        for _ in 0..<3 {
            if let socket = try? BlockingSocket.connect("127.0.0.1", blackhole.port, timeout: 0.5) { fillers.append(socket) }
        }
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["hole.test:\(blackhole.port)"],
                                                            hosts: ["hole.test": "127.0.0.1"],
                                                            extra: "timeouts: {connect: 500ms}\n"))
        let answer = try proxy.rawExchange("CONNECT hole.test:\(blackhole.port) HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 504, token: "connect-timeout")
        _ = fillers
    }

    @Test("upstream that never answers a forwarded request -> 504 response-timeout")
    func responseTimeout() throws {
        let upstream = try TestServer { socket in
            _ = try? socket.receive(until: "\r\n\r\n")
            sleep(3)
        }
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["mute.test:\(upstream.port)"],
                                                            hosts: ["mute.test": "127.0.0.1"],
                                                            extra: "timeouts: {response: 300ms}\n"))
        let answer = try proxy.rawExchange("GET http://mute.test:\(upstream.port)/ HTTP/1.1\r\nHost: mute.test\r\n\r\n")
        Self.expectError(answer, status: 504, token: "response-timeout")
    }

    @Test("oversized head -> 431 head-too-large")
    func oversizedHead() throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: [], extra: "limits: {head_bytes: 2048}\n"))
        let answer = try proxy.rawExchange("GET http://a.test/ HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 4000) + "\r\n\r\n")
        Self.expectError(answer, status: 431, token: "head-too-large")
    }

    @Test("a head that does not complete in time -> 408, and the connection is closed")
    func slowHead() throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: [], extra: "timeouts: {head: 300ms}\n"))
        let socket = try proxy.connect()
        try socket.send("GET http://a.test/ HTTP/1.1\r\nHost: a")
        let answer = try socket.receiveAll().text
        Self.expectError(answer, status: 408, token: "head-timeout")
        #expect(proxy.waitForIdle())
    }

    @Test("a client outside `clients` -> 403 client-denied")
    func clientDenied() throws {
        let yaml = "version: 1\nclients: [\"10.9.9.0/24\"]\nallow: [\"a.test\"]\n"
        let proxy = try ProxyHarness(policy: yaml)
        let answer = try proxy.rawExchange("CONNECT a.test:443 HTTP/1.1\r\n\r\n")
        Self.expectError(answer, status: 403, token: "client-denied")
    }

    static let malformed: [(String, String)] = [
        ("bad request line", "GARBAGE\r\n\r\n"),
        ("lower-case version", "GET http://a.test/ http/1.1\r\n\r\n"),
        ("HTTP/2 over text", "GET http://a.test/ HTTP/2.0\r\n\r\n"),
        ("space before colon", "GET http://a.test/ HTTP/1.1\r\nHost : a.test\r\n\r\n"),
        ("obs-fold", "GET http://a.test/ HTTP/1.1\r\nX-A: b\r\n  c\r\n\r\n"),
        ("bad header name", "GET http://a.test/ HTTP/1.1\r\nX(A): b\r\n\r\n"),
        ("NUL in value", "GET http://a.test/ HTTP/1.1\r\nX-A: b\u{0}c\r\n\r\n"),
        ("bare LF", "GET http://a.test/ HTTP/1.1\nHost: a.test\n\n"),
        ("CONNECT without port", "CONNECT a.test HTTP/1.1\r\n\r\n"),
        ("CONNECT port 0", "CONNECT a.test:0 HTTP/1.1\r\n\r\n"),
        ("CONNECT port too large", "CONNECT a.test:65536 HTTP/1.1\r\n\r\n"),
        ("CONNECT signed port", "CONNECT a.test:+443 HTTP/1.1\r\n\r\n"),
        ("CONNECT userinfo", "CONNECT user@a.test:443 HTTP/1.1\r\n\r\n"),
        ("CONNECT percent-encoding", "CONNECT a%2etest:443 HTTP/1.1\r\n\r\n"),
        ("CONNECT with a URL", "CONNECT http://a.test:443/ HTTP/1.1\r\n\r\n"),
        ("numeric host", "CONNECT 2130706433:443 HTTP/1.1\r\n\r\n"),
        ("short dotted host", "CONNECT 127.1:443 HTTP/1.1\r\n\r\n"),
        ("https absolute form", "GET https://a.test/ HTTP/1.1\r\n\r\n"),
        ("origin form to the proxy", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
        ("dot segment", "GET http://a.test/a/../b HTTP/1.1\r\n\r\n"),
        ("encoded slash", "GET http://a.test/a%2Fb HTTP/1.1\r\n\r\n"),
        ("CL and TE", "POST http://a.test/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("conflicting CL", "POST http://a.test/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
        ("TE not ending in chunked", "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ("TE identity", "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n"),
    ]

    @Test("malformed and smuggling request shapes -> 400 bad-request", arguments: malformed)
    func malformedRequests(_ name: String, _ request: String) throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["a.test", "a.test:80", "127.0.0.1:1-65535"]))
        let answer = try proxy.rawExchange(request)
        Self.expectError(answer, status: 400, token: "bad-request")
        let record = try #require(proxy.waitForLog().first)
        #expect(record.status == 400)
        #expect(record.error == "bad-request")
    }
}
