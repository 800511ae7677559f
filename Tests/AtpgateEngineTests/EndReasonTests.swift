import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine

/// Issue 8, finding 9: the access log says which side ended a served request abnormally.
@Suite("End reasons name the side")
struct EndReasonTests {
    static func resetOnClose(_ fd: Int32) {
        var value = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
    }

    static func proxy(_ upstream: TestServer) throws -> ProxyHarness {
        try ProxyHarness(policy: loopbackPolicy(allow: ["svc.test:\(upstream.port)"], hosts: ["svc.test": "127.0.0.1"]))
    }

    @Test("a client that resets its tunnel: client-reset")
    func clientResetsTunnel() throws {
        let upstream = try TestServer.echo()
        let proxy = try Self.proxy(upstream)
        do {
            let socket = try proxy.openTunnel(to: "svc.test:\(upstream.port)")
            try socket.send("ping")
            #expect(try socket.receive(exactly: 4).text == "ping")
            Self.resetOnClose(socket.fd)
        }   // closed here, with a reset
        let record = try #require(proxy.waitForLog().first)
        #expect(record.error == "client-reset")
    }

    @Test("an upstream that resets the tunnel: upstream-reset")
    func upstreamResetsTunnel() throws {
        let upstream = try TestServer { socket in
            _ = try? socket.receive()
            Self.resetOnClose(socket.fd)
        }
        let proxy = try Self.proxy(upstream)
        let socket = try proxy.openTunnel(to: "svc.test:\(upstream.port)")
        try socket.send("ping")
        _ = try? socket.receiveAll()
        let record = try #require(proxy.waitForLog().first)
        #expect(record.error == "upstream-reset")
    }

    @Test("an upstream that resets in the middle of a response body: upstream-reset")
    func upstreamResetsResponse() throws {
        let upstream = try TestServer { socket in
            _ = try? socket.receive(until: "\r\n\r\n")
            try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            usleep(100_000)
            Self.resetOnClose(socket.fd)
        }
        let proxy = try Self.proxy(upstream)
        _ = try? proxy.rawExchange("GET http://svc.test:\(upstream.port)/ HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        let record = try #require(proxy.waitForLog().first)
        #expect(record.status == 200)
        #expect(record.error == "upstream-reset")
    }

    @Test("an upstream that closes early in the middle of a response body: upstream-failed")
    func upstreamTruncatesResponse() throws {
        let upstream = try TestServer { socket in
            _ = try? socket.receive(until: "\r\n\r\n")
            try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        }
        let proxy = try Self.proxy(upstream)
        _ = try? proxy.rawExchange("GET http://svc.test:\(upstream.port)/ HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        let record = try #require(proxy.waitForLog().first)
        #expect(record.error == "upstream-failed")
    }

    @Test("every end reason has the documented token", arguments: EndReason.allCases)
    func tokens(reason: EndReason) {
        let documented = ["client-reset", "upstream-reset", "client-failed", "upstream-failed", "idle-timeout", "shutdown", "policy-cut",
                          "max-duration"]
        #expect(documented.contains(reason.rawValue))
    }
}
