import Foundation
import Testing
@testable import AtpgateEngine
import AtpgateIO

@Suite("Connection limits and the tunnel's lifetime")
struct LimitsTests {
    /// Opens a CONNECT tunnel to `port` and waits for its 200.
    static func tunnel(proxy: UInt16, to port: UInt16) throws -> BlockingSocket {
        let socket = try BlockingSocket.connect("127.0.0.1", proxy)
        try socket.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n")
        let head = String(decoding: try socket.receive(until: "\r\n\r\n"), as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 200") else { throw TestError("tunnel refused: \(head)") }
        return socket
    }

    /// What a refused connection reads: the whole answer (the proxy answers without reading a request).
    static func refusal(proxy: UInt16) throws -> String {
        let socket = try BlockingSocket.connect("127.0.0.1", proxy)
        try socket.send("CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: x\r\n\r\n")
        socket.shutdownWrite()
        return String(decoding: try socket.receiveAll(), as: UTF8.self)
    }

    @Test("over max_connections_per_client: 429 client-limit with Retry-After, then recovery when one closes")
    func perClientLimit() throws {
        let origin = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["127.0.0.1:\(origin.port)"],
                                                            extra: "admin: \"127.0.0.1:0\"\nlimits: {max_connections_per_client: 2}\n"))
        let first = try Self.tunnel(proxy: proxy.port, to: origin.port)
        let second = try Self.tunnel(proxy: proxy.port, to: origin.port)
        let answer = try Self.refusal(proxy: proxy.port)
        #expect(answer.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"))
        #expect(answer.contains("\r\nRetry-After: 5\r\n"))
        #expect(answer.contains("\r\nX-Atpgate-Error: client-limit\r\n"))
        // The tunnels already open still work.
        try first.send("still here")
        #expect(String(decoding: try first.receive(exactly: 10), as: UTF8.self) == "still here")

        // Recovery: one tunnel ends, and the client's next connection is served.
        second.shutdownWrite()
        _ = try? second.receiveAll()
        #expect(eventually { proxy.server.liveConnections == 1 })
        let third = try Self.tunnel(proxy: proxy.port, to: origin.port)
        try third.send("again")
        #expect(String(decoding: try third.receive(exactly: 5), as: UTF8.self) == "again")

        let refused = proxy.log.filter { $0.error == "client-limit" }
        #expect(refused.count == 1)
        #expect(refused.first?.decision == "error")
        let scrape = try PrometheusScrape.scrape(adminPort: try #require(proxy.server.adminAddress?.port))
        #expect(scrape.value("atpgate_denials_total", ["reason": "client-limit"]) == 1)
        // Not a request of any kind: no request was read.
        #expect(scrape.value("atpgate_requests_total", ["kind": "http", "decision": "error"]) == 0)
    }

    @Test("over max_connections: 503 proxy-full with Retry-After; the refused connections hold no slot")
    func totalLimit() throws {
        let origin = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["127.0.0.1:\(origin.port)"],
                                                            extra: "limits: {max_connections: 1}\n"))
        let only = try Self.tunnel(proxy: proxy.port, to: origin.port)
        for _ in 0..<3 {
            let answer = try Self.refusal(proxy: proxy.port)
            #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
            #expect(answer.contains("\r\nRetry-After: 5\r\n"))
            #expect(answer.contains("\r\nX-Atpgate-Error: proxy-full\r\n"))
        }
        only.shutdownWrite()
        _ = try? only.receiveAll()
        // Three refusals did not use up the slot: the next client is served.
        #expect(eventually { proxy.server.liveConnections == 0 })
        let next = try Self.tunnel(proxy: proxy.port, to: origin.port)
        try next.send("x")
        #expect(try next.receive(exactly: 1) == Array("x".utf8))
    }

    @Test("timeouts.tunnel cuts a busy tunnel with max-duration; other tunnels are not affected")
    func maxDuration() throws {
        let origin = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["127.0.0.1:\(origin.port)"],
                                                            extra: "timeouts: {tunnel: 1s, idle: 30s}\n"))
        let busy = try Self.tunnel(proxy: proxy.port, to: origin.port)
        // Keep it busy: it is cut for its age, not for idling.
        var cut = false
        for _ in 0..<100 {
            do {
                try busy.send("ping")
                let echoed = try busy.receive(max: 4)
                if echoed.isEmpty { cut = true; break }
            } catch {
                cut = true
                break
            }
            usleep(50_000)
        }
        #expect(cut)
        let record = try #require(proxy.waitForLog().first)
        #expect(record.error == "max-duration")
        #expect(record.durationMs >= 900)
        #expect(record.bytesUp > 0)
    }
}
