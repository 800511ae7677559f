import Testing
import Foundation
@testable import AtpgateEngine

@Suite("Plain HTTP forwarding")
struct HTTPForwardTests {
    static func policy(_ origin: HTTPTestServer, extraAllow: [String] = []) -> String {
        loopbackPolicy(allow: ["origin.test:\(origin.port)"] + extraAllow, hosts: ["origin.test": "127.0.0.1"])
    }

    @Test("origin-form upstream, hop-by-hop headers removed, Via added, Host replaced")
    func rewritesTheRequest() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let answer = try proxy.rawExchange(
            "GET http://origin.test:\(origin.port)/cl/5?q=1 HTTP/1.1\r\nHost: wrong.example\r\nConnection: close, X-Secret\r\n"
            + "X-Secret: s\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\n"
            + "Upgrade: h2c\r\nKeep-Alive: 5\r\nX-Kept: yes\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nxxxxx"))
        #expect(answer.contains("Via: 1.1 atpgate"))
        #expect(!answer.contains("Keep-Alive:"))
        let head = try #require(origin.receivedHeads.first)
        #expect(head.hasPrefix("GET /cl/5?q=1 HTTP/1.1\r\n"))
        #expect(head.contains("Host: origin.test:\(origin.port)\r\n"))
        #expect(head.contains("X-Kept: yes\r\n"))
        #expect(head.contains("Via: 1.1 atpgate\r\n"))
        for removed in ["X-Secret", "Proxy-Connection", "Proxy-Authorization", "TE:", "Upgrade", "Keep-Alive", "wrong.example"] {
            #expect(!head.contains(removed), "forwarded head still has \(removed): \(head)")
        }
    }

    @Test("keep-alive: several requests on one client connection, each decided on its own")
    func keepAlive() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let socket = try proxy.connect()
        try socket.send("GET http://origin.test:\(origin.port)/cl/3 HTTP/1.1\r\nHost: origin.test\r\n\r\n")
        let first = try socket.receive(until: "xxx").text
        #expect(first.hasPrefix("HTTP/1.1 200 OK"))
        try socket.send("GET http://origin.test:\(origin.port)/chunked HTTP/1.1\r\nHost: origin.test\r\n\r\n")
        let second = try socket.receive(until: "0\r\n\r\n").text
        #expect(second.contains("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))
        // The third is denied: the connection answers 403 and closes.
        try socket.send("GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n")
        let third = try socket.receiveAll().text
        #expect(third.hasPrefix("HTTP/1.1 403 "))
        let records = proxy.waitForLog(count: 3)
        #expect(records.map(\.status) == [200, 200, 403])
        #expect(records.map(\.decision) == ["allow", "allow", "deny"])
    }

    @Test("pipelined requests are answered in order")
    func pipelined() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let socket = try proxy.connect()
        let request = "GET http://origin.test:\(origin.port)/cl/2 HTTP/1.1\r\nHost: origin.test\r\n\r\n"
        try socket.send(request + request.replacingOccurrences(of: "/cl/2", with: "/cl/4")
                        + "GET http://origin.test:\(origin.port)/cl/1 HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n")
        let all = try socket.receiveAll().text
        #expect(all.components(separatedBy: "HTTP/1.1 200 OK").count == 4)
        #expect(all.hasSuffix("\r\n\r\nx"))
        #expect(proxy.waitForLog(count: 3).map(\.bytesDown) == [2, 4, 1])
    }

    @Test("request bodies stream upstream: Content-Length and chunked")
    func requestBodies() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let body = String(repeating: "0123456789", count: 20_000)
        let answer = try proxy.rawExchange("POST http://origin.test:\(origin.port)/echo HTTP/1.1\r\nHost: o\r\n"
                                           + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
        #expect(answer.hasSuffix("\r\n\r\n" + body))
        let chunked = try proxy.rawExchange("POST http://origin.test:\(origin.port)/echo HTTP/1.1\r\nHost: o\r\n"
                                            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                            + "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n")
        #expect(chunked.hasSuffix("Content-Length: 7\r\n\r\nabcdefg") || chunked.hasSuffix("\r\n\r\nabcdefg"))
        let records = proxy.waitForLog(count: 2)
        #expect(records.first?.bytesUp == UInt64(body.utf8.count))
    }

    @Test("close-delimited responses end the client connection; HEAD has no body; 100 Continue passes")
    func responseShapes() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let closing = try proxy.rawExchange("GET http://origin.test:\(origin.port)/close HTTP/1.1\r\nHost: o\r\n\r\n")
        #expect(closing.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(closing.contains("Connection: close\r\n"))
        #expect(closing.hasSuffix("\r\n\r\nuntil close"))

        let socket = try proxy.connect()
        try socket.send("HEAD http://origin.test:\(origin.port)/cl/100 HTTP/1.1\r\nHost: o\r\n\r\n")
        let head = try socket.receive(until: "\r\n\r\n").text
        #expect(head.contains("Content-Length: 100"))
        try socket.send("GET http://origin.test:\(origin.port)/continue HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n")
        let rest = try socket.receiveAll().text
        #expect(rest.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        #expect(rest.hasSuffix("\r\n\r\nok"))
    }

    @Test("an HTTP/1.0 client gets a chunked response de-chunked and delimited by close")
    func dechunkForHTTP10() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let answer = try proxy.rawExchange("GET http://origin.test:\(origin.port)/chunked HTTP/1.0\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(!answer.lowercased().contains("transfer-encoding"))
        #expect(answer.contains("Connection: close\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nhello world"))
        #expect(proxy.waitForLog().first?.bytesDown == 11)
    }

    @Test("a path rule allows only its prefix, at a segment boundary")
    func pathRules() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["http://pki.test:\(origin.port)/pki/*"],
                                                            hosts: ["pki.test": "127.0.0.1"]))
        let allowed = try proxy.rawExchange("GET http://pki.test:\(origin.port)/pki/cl/1 HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
        #expect(allowed.hasPrefix("HTTP/1.1 200 "))
        let denied = try proxy.rawExchange("GET http://pki.test:\(origin.port)/pkiother HTTP/1.1\r\nHost: p\r\n\r\n")
        #expect(denied.hasPrefix("HTTP/1.1 403 "))
        let connect = try proxy.rawExchange("CONNECT pki.test:\(origin.port) HTTP/1.1\r\n\r\n")
        #expect(connect.hasPrefix("HTTP/1.1 403 "))
    }
}
