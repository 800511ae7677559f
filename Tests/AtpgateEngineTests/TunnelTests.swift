import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine
import AtpgateIO

@Suite("CONNECT tunnels")
struct TunnelTests {
    @Test("bytes pipelined right behind the CONNECT head reach the upstream")
    func pipelinedBytesAreForwarded() throws {
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["echo.test:\(upstream.port)"],
                                                            hosts: ["echo.test": "127.0.0.1"]))
        let socket = try proxy.openTunnel(to: "echo.test:\(upstream.port)", extra: Array("HELLO-PIPELINED".utf8))
        #expect(try socket.receive(exactly: 15).text == "HELLO-PIPELINED")
        try socket.send("second")
        #expect(try socket.receive(exactly: 6).text == "second")
        // A short tunnel never pays for pipes.
        #expect(proxy.server.statistics.pipesCreated == 0)
    }

    @Test("64 MiB each way through one tunnel arrive intact (SHA-256)")
    func bulkPayloadBothWays() throws {
        let size = 64 << 20
        let upstreamReceived = Locked<String>("")
        let upstreamSent = Locked<String>("")
        let upstream = try TestServer { socket in
            // Send and receive at once: a relay that blocks one direction on the other deadlocks here.
            Thread { upstreamSent.withLock { $0 = Self.sendPayload(socket, seed: 2, size: size) } }.start()
            upstreamReceived.withLock { $0 = Self.receivePayload(socket).hash }
        }
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["bulk.test:\(upstream.port)"],
                                                            hosts: ["bulk.test": "127.0.0.1"]))
        let socket = try proxy.openTunnel(to: "bulk.test:\(upstream.port)")
        let sentHash = Locked<String>("")
        Thread { sentHash.withLock { $0 = Self.sendPayload(socket, seed: 1, size: size) } }.start()
        let (received, receivedHash) = Self.receivePayload(socket)
        #expect(received == size)
        #expect(receivedHash == upstreamSent.withLock { $0 })
        let records = proxy.waitForLog()
        // The upstream and our sender finish hashing on their own threads.
        let deadline = Date().addingTimeInterval(20)
        while (upstreamReceived.value.isEmpty || sentHash.value.isEmpty) && Date() < deadline { usleep(10_000) }
        #expect(sentHash.withLock { $0 } == upstreamReceived.withLock { $0 })
        #expect(!receivedHash.isEmpty)
        #expect(records.first?.bytesUp == UInt64(size))
        #expect(records.first?.bytesDown == UInt64(size))
        // Bulk directions moved to splice(2) after their first full buffer.
        #expect(proxy.server.statistics.pipesCreated == 2)
        #expect(proxy.server.statistics.bytesSpliced > size)
    }

    @Test("a tunnel with no traffic for timeouts.idle is closed and logged")
    func idleTimeout() throws {
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["idle.test:\(upstream.port)"],
                                                            hosts: ["idle.test": "127.0.0.1"],
                                                            extra: "timeouts: {idle: 400ms}\n"))
        let socket = try proxy.openTunnel(to: "idle.test:\(upstream.port)")
        try socket.send("x")
        #expect(try socket.receive(exactly: 1).text == "x")
        #expect(try socket.receiveAll().isEmpty)      // the proxy closes it
        let record = try #require(proxy.waitForLog().first)
        #expect(record.error == "idle-timeout")
        #expect(proxy.waitForIdle())
    }

    /// Sends `size` pseudo-random bytes, half-closes, and returns their SHA-256.
    static func sendPayload(_ socket: BlockingSocket, seed: UInt64, size: Int) -> String {
        var generator = PayloadGenerator(seed: seed)
        let hasher = try! StreamingSHA256()
        var sent = 0
        while sent < size {
            let bytes = generator.next(256 << 10)
            hasher.update(bytes)
            try? socket.send(bytes)
            sent += bytes.count
        }
        socket.shutdownWrite()
        return hasher.finish()
    }

    /// Reads until end of stream; returns the byte count and SHA-256.
    static func receivePayload(_ socket: BlockingSocket) -> (count: Int, hash: String) {
        let hasher = try! StreamingSHA256()
        var count = 0
        while let bytes = try? socket.receive(), !bytes.isEmpty {
            hasher.update(bytes)
            count += bytes.count
        }
        return (count, hasher.finish())
    }

    @Test("client half-close: the upstream reads EOF and can still answer")
    func clientHalfClose() throws {
        let upstream = try TestServer { socket in
            let request = (try? socket.receiveAll()) ?? []        // until the client's FIN
            try? socket.send("got \(request.count) bytes")
            socket.shutdownWrite()
        }
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["half.test:\(upstream.port)"],
                                                            hosts: ["half.test": "127.0.0.1"]))
        let socket = try proxy.openTunnel(to: "half.test:\(upstream.port)")
        try socket.send("12345")
        socket.shutdownWrite()
        #expect(try socket.receiveAll().text == "got 5 bytes")
        #expect(proxy.waitForIdle())
    }

    @Test("upstream half-close: the client reads EOF and can still send")
    func upstreamHalfClose() throws {
        let upstream = try TestServer { socket in
            _ = try? socket.receive(exactly: 2)      // "go": the banner must not race the 200 reply
            try? socket.send("banner")
            socket.shutdownWrite()
            _ = try? socket.receiveAll()   // the client's bytes still arrive after our FIN
        }
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["half.test:\(upstream.port)"],
                                                            hosts: ["half.test": "127.0.0.1"]))
        let socket = try proxy.openTunnel(to: "half.test:\(upstream.port)")
        try socket.send("go")
        #expect(try socket.receive(exactly: 6).text == "banner")
        #expect(try socket.receive().isEmpty)                     // EOF from the upstream's FIN
        try socket.send("still talking")                           // our direction is still open
        socket.shutdownWrite()
        #expect(proxy.waitForIdle())
        let record = proxy.waitForLog().first
        #expect(record?.bytesUp == 15)
        #expect(record?.bytesDown == 6)
    }

    @Test("an IPv6 literal target over [::1]")
    func ipv6LiteralTarget() throws {
        let upstream = try TestServer.echo(host: "::1")
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["[::1]:\(upstream.port)"]))
        let socket = try proxy.openTunnel(to: "[::1]:\(upstream.port)")
        try socket.send("v6")
        #expect(try socket.receive(exactly: 2).text == "v6")
        socket.shutdownWrite()
        _ = try socket.receiveAll()
        let record = proxy.waitForLog().first
        #expect(record?.upstream == "[::1]:\(upstream.port)")
    }

    @Test("a listener on [::1] serves IPv6 clients")
    func ipv6Listener() throws {
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["echo.test:\(upstream.port)"],
                                                            hosts: ["echo.test": "127.0.0.1"]),
                                     listen: "[::1]:0")
        let socket = try BlockingSocket.connect("::1", proxy.port)
        try socket.send("CONNECT echo.test:\(upstream.port) HTTP/1.1\r\n\r\nv6-client")
        #expect(try socket.receive(until: "\r\n\r\n").text.hasPrefix("HTTP/1.1 200 "))
        #expect(try socket.receive(exactly: 9).text == "v6-client")
        socket.shutdownWrite()
        _ = try socket.receiveAll()
        #expect(proxy.waitForLog().first?.client.hasPrefix("[::1]:") == true)
    }

    @Test("a denied CONNECT gets 403 naming the rule, and nothing is dialled")
    func deniedConnect() throws {
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["*.test:\(upstream.port)"],
                                                            deny: ["evil.test"],
                                                            hosts: ["evil.test": "127.0.0.1"]))
        let answer = try proxy.rawExchange("CONNECT evil.test:\(upstream.port) HTTP/1.1\r\nHost: evil.test\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 403 "))
        #expect(answer.contains("X-Atpgate-Error: denied\r\n"))
        #expect(answer.contains("test.yaml:"))
        #expect(upstream.acceptedCount == 0)
        let record = try #require(proxy.waitForLog().first)
        #expect(record.decision == "deny")
        #expect(record.rule?.hasPrefix("test.yaml:") == true)
        #expect(record.upstream == nil)
    }

    @Test("an upstream reset closes the client side too")
    func upstreamResetPropagates() throws {
        let upstream = try TestServer { socket in
            _ = try? socket.receive()
            // Linger 0: the close when the handler returns sends a reset instead of a FIN.
            var linger = linger(l_onoff: 1, l_linger: 0)
            setsockopt(socket.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        }
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["rst.test:\(upstream.port)"],
                                                            hosts: ["rst.test": "127.0.0.1"]))
        let socket = try proxy.openTunnel(to: "rst.test:\(upstream.port)")
        try socket.send("x")
        _ = try? socket.receiveAll()   // ends with EOF or a reset; must not hang
        #expect(proxy.waitForIdle())
    }
}
