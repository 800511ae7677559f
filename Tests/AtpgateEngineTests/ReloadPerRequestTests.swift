import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine
import AtpgateIO
import AtpgatePolicy
import AtpgateNet

/// Issue 8, finding 2: every request is decided under the policy in force when its head is complete,
/// whatever the connection's age; a reload with `cut-denied` also reaches requests still being
/// resolved or dialled.
@Suite("Reload reaches open connections")
struct ReloadPerRequestTests {
    static func policy(allowing port: UInt16?, cut: Bool = false) throws -> Policy {
        let yaml = loopbackPolicy(allow: port.map { ["svc.test:\($0)"] } ?? [], hosts: ["svc.test": "127.0.0.1"],
                                  extra: cut ? "on_reload: cut-denied\n" : "")
        return try PolicyLoader.parse(yaml: yaml, file: "test.yaml")
    }

    @Test("a connection opened before a reload, idle until after it, is decided under the new policy")
    func idleConnectionBeforeReload() throws {
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(loaded: try Self.policy(allowing: upstream.port), resolver: StubResolver([:]),
                                     listen: "127.0.0.1:0")
        let socket = try proxy.connect()
        usleep(50_000)   // accepted and reading its head
        proxy.server.policies.replace(with: try Self.policy(allowing: nil))
        try socket.send("CONNECT svc.test:\(upstream.port) HTTP/1.1\r\n\r\n")
        #expect(try socket.receiveAll().text.hasPrefix("HTTP/1.1 403 "))
        #expect(proxy.waitForLog().first?.rule == "default")
    }

    @Test("a head half sent before a reload and finished after it is decided under the new policy")
    func halfHeadAcrossReload() throws {
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(loaded: try Self.policy(allowing: upstream.port), resolver: StubResolver([:]),
                                     listen: "127.0.0.1:0")
        let socket = try proxy.connect()
        try socket.send("CONNECT svc.test:\(upstream.port) HTTP/1.1\r\nHost: svc")
        usleep(50_000)
        proxy.server.policies.replace(with: try Self.policy(allowing: nil))
        try socket.send(".test\r\n\r\n")
        #expect(try socket.receiveAll().text.hasPrefix("HTTP/1.1 403 "))
    }

    @Test("the next request on a keep-alive connection is decided under the new policy")
    func keepAliveAcrossReload() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(loaded: try Self.policy(allowing: origin.port), resolver: StubResolver([:]),
                                     listen: "127.0.0.1:0")
        let socket = try proxy.connect()
        let request = "GET http://svc.test:\(origin.port)/cl/3 HTTP/1.1\r\nHost: svc.test\r\n\r\n"
        try socket.send(request)
        #expect(try socket.receive(until: "xxx").text.hasPrefix("HTTP/1.1 200 OK"))
        proxy.server.policies.replace(with: try Self.policy(allowing: nil))
        try socket.send(request)
        #expect(try socket.receiveAll().text.hasPrefix("HTTP/1.1 403 "))
        #expect(origin.receivedHeads.count == 1)
    }

    @Test("cut-denied: a request allowed, then denied by a reload while its name was being resolved, never reaches the upstream")
    func cutWhileResolving() throws {
        let upstream = try TestServer.echo()
        let resolver = GatedResolver(answer: "127.0.0.1")
        let yaml = loopbackPolicy(allow: ["svc.test:\(upstream.port)"])
        let proxy = try ProxyHarness(loaded: try PolicyLoader.parse(yaml: yaml, file: "test.yaml"), resolver: resolver,
                                     listen: "127.0.0.1:0")
        let socket = try proxy.connect()
        try socket.send("CONNECT svc.test:\(upstream.port) HTTP/1.1\r\n\r\n")
        #expect(eventually { resolver.waiting })
        proxy.server.policies.replace(with: try PolicyLoader.parse(yaml: loopbackPolicy(allow: [], extra: "on_reload: cut-denied\n"),
                                                                   file: "test.yaml"))
        proxy.server.cutConnections(deniedBy: proxy.server.policies.policy)
        resolver.release()
        let answer = try socket.receiveAll().text
        #expect(answer.hasPrefix("HTTP/1.1 403 "), "\(answer)")
        #expect(upstream.acceptedCount == 0)
    }
}

/// Answers each lookup only when the test says so.
final class GatedResolver: Resolver, @unchecked Sendable {
    private let answer: String
    private let pending = Locked<[@Sendable (Result<[IPAddress], ResolveError>) -> Void]>([])

    init(answer: String) { self.answer = answer }

    var waiting: Bool { !pending.withLock { $0.isEmpty } }

    func resolve(_ name: String, completion: @escaping @Sendable (Result<[IPAddress], ResolveError>) -> Void) {
        pending.withLock { $0.append(completion) }
    }

    func release() {
        let completions = pending.withLock { list in defer { list.removeAll() }; return list }
        let address = IPAddress(answer)!
        for completion in completions { completion(.success([address])) }
    }
}
