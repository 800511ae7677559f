import Testing
import Foundation
@testable import AtpgateEngine
import AtpgatePolicy
import AtpgateIO

/// The upstream keep-alive pool for plain HTTP: connections are reused only by requests decided and allowed
/// under the policy in force, come back only after a cleanly framed response, and a request that fails on
/// a reused connection before any response byte is sent once more on a new one (idempotent, no body).
@Suite("Upstream keep-alive pool")
struct UpstreamKeepAliveTests {
    static func policy(_ port: UInt16, allow: [String]? = nil, extra: String = "") -> String {
        loopbackPolicy(allow: allow ?? ["origin.test:\(port)"], hosts: ["origin.test": "127.0.0.1"], extra: extra)
    }

    static func get(_ port: UInt16, _ path: String, close: Bool = false) -> String {
        "GET http://origin.test:\(port)\(path) HTTP/1.1\r\nHost: origin.test\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    @Test("50 keep-alive requests from curl to one origin use at most 2 upstream connections")
    func fiftyRequestsFewConnections() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        let urls = (1...50).map { "http://origin.test:\(origin.port)/cl/\($0)" }
        let result = try curl(proxyPort: proxy.port, ["-w", "%{http_code}\\n"] + urls.flatMap { ["-o", "/dev/null", $0] })
        #expect(result.status == 0, "curl: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n") == Array(repeating: "200", count: 50))
        #expect(origin.receivedHeads.count == 50)
        #expect(origin.server.acceptedCount <= 2, "upstream connections: \(origin.server.acceptedCount)")
        // The upstream heads no longer ask to close.
        #expect(origin.receivedHeads.allSatisfy { !$0.contains("Connection: close") })
        let records = proxy.waitForLog(count: 50)
        #expect(records.count == 50 && records.allSatisfy { $0.status == 200 && $0.bytesDown == UInt64($0.target.split(separator: "/").last.flatMap { Int($0) } ?? -1) })
    }

    @Test("50 requests over 10 client connections in a row still share the pooled upstream connections")
    func acrossClientConnections() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        for round in 0..<10 {
            let socket = try proxy.connect()
            for index in 0..<5 {
                try socket.send(Self.get(origin.port, "/cl/\(round * 5 + index + 1)"))
                let answer = try socket.receive(until: String(repeating: "x", count: round * 5 + index + 1)).text
                #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
            }
        }
        #expect(origin.receivedHeads.count == 50)
        // One loop per core (2 here); each keeps its own pool.
        #expect(origin.server.acceptedCount <= 2, "upstream connections: \(origin.server.acceptedCount)")
    }

    @Test("a request the policy denies never rides a pooled connection: 403, and the origin sees nothing")
    func deniedNeverRides() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port, allow: ["http://origin.test:\(origin.port)/cl/*"]))
        let socket = try proxy.connect()
        try socket.send(Self.get(origin.port, "/cl/3"))
        _ = try socket.receive(until: "xxx")
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        // Same origin, same loop, a pooled connection waiting: the path is denied before any upstream is chosen.
        try socket.send(Self.get(origin.port, "/echo"))
        let denied = try socket.receiveAll().text
        #expect(denied.hasPrefix("HTTP/1.1 403 "), "\(denied)")
        #expect(origin.receivedHeads.count == 1)
        #expect(origin.receivedHeads.allSatisfy { $0.hasPrefix("GET /cl/3 ") })
        #expect(proxy.waitForLog(count: 2).map(\.decision) == ["allow", "deny"])
    }

    @Test("a reload that denies the origin closes its idle pooled connections; the next request is refused")
    func reloadDropsDenied() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        #expect(try proxy.rawExchange(Self.get(origin.port, "/cl/2", close: true)).hasPrefix("HTTP/1.1 200 "))
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        // A reload that still allows it keeps the connection.
        let same = try PolicyLoader.parse(yaml: Self.policy(origin.port), file: "test.yaml")
        proxy.server.policies.replace(with: same)
        proxy.server.dropPooledConnections(deniedBy: same)
        usleep(50_000)
        #expect(proxy.server.pooledUpstreamConnections == 1)
        let denying = try PolicyLoader.parse(yaml: Self.policy(origin.port, allow: ["other.test:1"]), file: "test.yaml")
        proxy.server.policies.replace(with: denying)
        proxy.server.dropPooledConnections(deniedBy: denying)
        #expect(eventually { proxy.server.pooledUpstreamConnections == 0 })
        #expect(try proxy.rawExchange(Self.get(origin.port, "/cl/2")).hasPrefix("HTTP/1.1 403 "))
        #expect(origin.receivedHeads.count == 1)
    }

    @Test("a reload that stops vetting the origin's address (networks.deny) closes its pooled connections")
    func reloadDropsUnvetted() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        #expect(try proxy.rawExchange(Self.get(origin.port, "/cl/2", close: true)).hasPrefix("HTTP/1.1 200 "))
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        let yaml = Self.policy(origin.port).replacingOccurrences(
            of: "networks:\n  allow: [\"127.0.0.0/8\", \"::1/128\"]\n",
            with: "networks:\n  allow: [\"127.0.0.0/8\", \"::1/128\"]\n  deny: [\"127.0.0.1/32\"]\n")
        let denying = try PolicyLoader.parse(yaml: yaml, file: "test.yaml")
        proxy.server.policies.replace(with: denying)
        proxy.server.dropPooledConnections(deniedBy: denying)
        #expect(eventually { proxy.server.pooledUpstreamConnections == 0 })
    }

    @Test("the reload watcher sweeps the pool too (a real policy file edit)")
    func reloaderSweeps() throws {
        let origin = try HTTPTestServer()
        let directory = try TemporaryDirectory()
        let path = try directory.write("policy.yaml", Self.policy(origin.port))
        let proxy = try ProxyHarness(policyFile: path)
        let log = CapturedLog()
        let reloader = PolicyReloader(path: path, server: proxy.server, logger: log.logger, debounce: 0.05)
        reloader.start()
        defer { reloader.stop() }
        #expect(try proxy.rawExchange(Self.get(origin.port, "/cl/2", close: true)).hasPrefix("HTTP/1.1 200 "))
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        _ = try directory.write("policy.yaml", Self.policy(origin.port, allow: ["other.test:1"]))
        reloader.reload(trigger: "SIGHUP")
        #expect(eventually { proxy.server.pooledUpstreamConnections == 0 })
    }

    @Test("not pooled: a server asking to close, a close-delimited body, bytes past the framed end")
    func notPooled() throws {
        let origin = try TestServer { socket in
            var buffered: [UInt8] = []
            while let chunk = try? socket.receive(), !chunk.isEmpty {
                buffered += chunk
                guard let end = buffered.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                let line = String(decoding: buffered[..<end.lowerBound], as: UTF8.self)
                buffered.removeFirst(end.upperBound)
                if line.hasPrefix("GET /close-header ") {
                    try? socket.send("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
                } else if line.hasPrefix("GET /extra ") {
                    try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSURPRISE")
                } else {
                    try? socket.send("HTTP/1.1 200 OK\r\n\r\nok")
                    return
                }
            }
        }
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        for path in ["/close-header", "/extra", "/until-close"] {
            let answer = try proxy.rawExchange(Self.get(origin.port, path, close: true))
            #expect(answer.hasPrefix("HTTP/1.1 200 ") && answer.hasSuffix("\r\n\r\nok"), "\(path): \(answer)")
            #expect(eventually { proxy.log.count == ["/close-header", "/extra", "/until-close"].firstIndex(of: path)! + 1 })
            usleep(20_000)
            #expect(proxy.server.pooledUpstreamConnections == 0, "\(path) was pooled")
        }
        #expect(origin.acceptedCount == 3)
    }

    @Test("a HEAD answered with a Content-Length, and the body sent anyway a little later: not pooled, the next request is answered right")
    func headWithStrayBody() throws {
        let origin = try TestServer { socket in
            var buffered: [UInt8] = []
            while let chunk = try? socket.receive(), !chunk.isEmpty {
                buffered += chunk
                while let end = buffered.firstRange(of: Array("\r\n\r\n".utf8)) {
                    let isHead = buffered.starts(with: Array("HEAD ".utf8))
                    buffered.removeFirst(end.upperBound)
                    try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
                    if isHead { usleep(50_000) }   // a server that sends the body HEAD must not have, late
                    try? socket.send("hello")
                }
            }
        }
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        let socket = try proxy.connect()
        try socket.send("HEAD http://origin.test:\(origin.port)/a HTTP/1.1\r\nHost: origin.test\r\n\r\n")
        #expect(try socket.receive(until: "\r\n\r\n").text.contains("Content-Length: 5\r\n"))
        try socket.send(Self.get(origin.port, "/b"))
        let answer = try socket.receive(until: "hello").text
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.hasSuffix("\r\n\r\nhello"), "\(answer)")
        #expect(origin.acceptedCount == 2)
    }

    @Test("an idle pooled connection the server closes leaves the pool; the next request dials anew")
    func serverClosesIdle() throws {
        let heads = Locked(0)
        let origin = try TestServer { socket in
            guard let head = try? socket.receive(until: "\r\n\r\n"), !head.isEmpty else { return }
            heads.withLock { $0 += 1 }
            try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            usleep(100_000)   // a server's short keep-alive timeout
        }
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        #expect(try proxy.rawExchange(Self.get(origin.port, "/a", close: true)).hasSuffix("ok"))
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        #expect(eventually { proxy.server.pooledUpstreamConnections == 0 })
        #expect(try proxy.rawExchange(Self.get(origin.port, "/b", close: true)).hasSuffix("ok"))
        #expect(origin.acceptedCount == 2)
        #expect(heads.withLock { $0 } == 2)
    }

    @Test("idle pooled connections expire after timeouts.upstream_keepalive")
    func expiry() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port, extra: "timeouts: {upstream_keepalive: 200ms}\n"))
        #expect(try proxy.rawExchange(Self.get(origin.port, "/cl/1", close: true)).hasSuffix("x"))
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        #expect(eventually(timeout: 5) { proxy.server.pooledUpstreamConnections == 0 })
    }

    @Test("limits.upstream_keepalive_per_origin: 0 turns the pool off: Connection: close upstream, a connection per request")
    func poolOff() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port, extra: "limits: {upstream_keepalive_per_origin: 0}\n"))
        let socket = try proxy.connect()
        for _ in 0..<3 {
            try socket.send(Self.get(origin.port, "/cl/2"))
            _ = try socket.receive(until: "xx")
        }
        #expect(origin.server.acceptedCount == 3)
        #expect(origin.receivedHeads.allSatisfy { $0.contains("Connection: close\r\n") })
        #expect(proxy.server.pooledUpstreamConnections == 0)
    }

    @Test("per-origin bound: 5 concurrent requests leave at most upstream_keepalive_per_origin idle connections")
    func perOriginBound() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin.port, extra: "limits: {upstream_keepalive_per_origin: 1}\n"))
        // Five client connections hold five requests open at once (slow to read: each gets its own upstream).
        let sockets = try (0..<5).map { _ in try proxy.connect() }
        for socket in sockets { try socket.send(Self.get(origin.port, "/cl/1")) }
        for socket in sockets { _ = try socket.receive(until: "x") }
        #expect(proxy.waitForLog(count: 5).count == 5)
        usleep(50_000)
        // One per origin per loop at most (2 loops).
        #expect(proxy.server.pooledUpstreamConnections <= 2)
    }

    /// An origin that answers the first request on a connection and then, on the next one, reads the head
    /// and closes without a byte: the race of a server's keep-alive timeout with a reused connection.
    /// Once more than `failAfter` heads were seen, new connections also close on their first head.
    static func forgetfulOrigin(heads: Locked<[String]>, failAfter: Int = .max) throws -> TestServer {
        let connections = Locked(0)
        return try TestServer { socket in
            let number = connections.withLock { $0 += 1; return $0 }
            var buffered: [UInt8] = []
            var served = 0
            while let chunk = try? socket.receive(), !chunk.isEmpty {
                buffered += chunk
                while let end = buffered.firstRange(of: Array("\r\n\r\n".utf8)) {
                    let head = String(decoding: buffered[..<end.upperBound], as: UTF8.self)
                    buffered.removeFirst(end.upperBound)
                    heads.withLock { $0.append(head) }
                    if served == 1 || number > 1 && heads.withLock({ $0.count }) > failAfter {
                        // The connection is gone before any response byte.
                        Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
                        return
                    }
                    served += 1
                    try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                }
            }
        }
    }

    @Test("a GET that fails on a reused connection before any response byte is sent once more on a new one")
    func retryIdempotent() throws {
        let heads = Locked<[String]>([])
        let origin = try Self.forgetfulOrigin(heads: heads)
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        let socket = try proxy.connect()
        try socket.send(Self.get(origin.port, "/first"))
        #expect(try socket.receive(until: "ok").text.hasPrefix("HTTP/1.1 200 "))
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        try socket.send(Self.get(origin.port, "/second"))
        let second = try socket.receive(until: "ok").text
        #expect(second.hasPrefix("HTTP/1.1 200 "), "\(second)")
        #expect(origin.acceptedCount == 2)
        #expect(heads.withLock { $0.map { String($0.prefix(12)) } } == ["GET /first H", "GET /second ", "GET /second "])
        let records = proxy.waitForLog(count: 2)
        #expect(records.map(\.status) == [200, 200])
    }

    @Test("not retried: a POST with a body, and a GET whose retry fails too (one retry only)")
    func noRetry() throws {
        let heads = Locked<[String]>([])
        let origin = try Self.forgetfulOrigin(heads: heads)
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        let socket = try proxy.connect()
        try socket.send(Self.get(origin.port, "/first"))
        _ = try socket.receive(until: "ok")
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        try socket.send("POST http://origin.test:\(origin.port)/post HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 4\r\n\r\nbody")
        let answer = try socket.receiveAll().text
        #expect(answer.hasPrefix("HTTP/1.1 502 "), "\(answer)")
        #expect(origin.acceptedCount == 1)
        #expect(heads.withLock { $0.count } == 2)
    }

    @Test("one retry only: when the new connection fails too, the client gets one 502")
    func oneRetry() throws {
        let heads = Locked<[String]>([])
        let origin = try Self.forgetfulOrigin(heads: heads, failAfter: 4)
        let proxy = try ProxyHarness(policy: Self.policy(origin.port))
        let socket = try proxy.connect()
        try socket.send(Self.get(origin.port, "/first"))
        _ = try socket.receive(until: "ok")
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        try socket.send(Self.get(origin.port, "/second"))
        let answer = try socket.receive(until: "ok").text
        #expect(answer.hasPrefix("HTTP/1.1 200 "), "\(answer)")
        // Three heads were seen (/first, /second twice); /third fails on the reused connection, and its
        // retry is the fifth head: that connection closes too.
        #expect(eventually { proxy.server.pooledUpstreamConnections == 1 })
        try socket.send(Self.get(origin.port, "/third"))
        let failed = try socket.receiveAll().text
        #expect(failed.hasPrefix("HTTP/1.1 502 "), "\(failed)")
        #expect(heads.withLock { $0.filter { $0.hasPrefix("GET /third ") }.count } == 2)
        #expect(origin.acceptedCount == 3)
    }

    @Test("a fresh connection that fails before responding is not retried")
    func freshNotRetried() throws {
        let closing = try TestServer { socket in
            _ = try? socket.receive(until: "\r\n\r\n")
            Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
        }
        let proxy = try ProxyHarness(policy: Self.policy(closing.port))
        let failed = try proxy.rawExchange(Self.get(closing.port, "/x"))
        #expect(failed.hasPrefix("HTTP/1.1 502 "), "\(failed)")
        #expect(closing.acceptedCount == 1)
    }
}
