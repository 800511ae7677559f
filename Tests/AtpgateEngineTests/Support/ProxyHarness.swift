import Foundation
import Logging
@testable import AtpgateEngine
import AtpgateIO
import AtpgatePolicy
import AtpgateNet

/// A resolver the test controls: fixed answers, failures, or silence (for timeouts). Never does DNS.
final class StubResolver: Resolver, @unchecked Sendable {
    enum Answer: Sendable { case addresses([String]), failure(ResolveError), never }
    private let answers: [String: Answer]
    private let lookups = Locked<[String]>([])

    init(_ answers: [String: Answer]) { self.answers = answers }

    var names: [String] { lookups.withLock { $0 } }

    func resolve(_ name: String, completion: @escaping @Sendable (Result<[IPAddress], ResolveError>) -> Void) {
        lookups.withLock { $0.append(name) }
        switch answers[name] ?? .failure(.notFound("no such name in the test resolver")) {
        case .addresses(let list): completion(.success(list.compactMap { IPAddress($0) }))
        case .failure(let error): completion(.failure(error))
        case .never: break
        }
    }
}

/// An in-process proxy on 127.0.0.1 with an ephemeral port, a test resolver and a captured access log.
final class ProxyHarness: @unchecked Sendable {
    let server: ProxyServer
    let port: UInt16
    private let records = Locked<[AccessRecord]>([])

    convenience init(policy yaml: String, resolver: StubResolver = StubResolver([:]), listen: String = "127.0.0.1:0") throws {
        try self.init(loaded: try PolicyLoader.parse(yaml: yaml, file: "test.yaml"), resolver: resolver, listen: listen)
    }

    /// A proxy on a policy file (for reload tests).
    convenience init(policyFile: String, resolver: StubResolver = StubResolver([:])) throws {
        try self.init(loaded: try PolicyLoader.load(path: policyFile), resolver: resolver, listen: "127.0.0.1:0")
    }

    init(loaded policy: Policy, resolver: any Resolver, listen: String) throws {
        let box = records
        server = try ProxyServer(policy: policy,
                             options: .init(loops: 2, listen: [ListenAddress(listen)!], resolver: resolver,
                                            accessLog: { record in box.withLock { $0.append(record) } }),
                             logger: Logger(label: "test"))
        ProcessSetup.ignoreSIGPIPE()
        try server.start()
        port = server.boundAddresses[0].port
    }

    deinit {
        server.stop(grace: 0) {}
    }

    var log: [AccessRecord] { records.withLock { $0 } }

    /// Waits until `count` access-log records exist (records are written when a request ends).
    func waitForLog(count: Int = 1, timeout: Double = 10) -> [AccessRecord] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = log
            if current.count >= count { return current }
            usleep(5000)
        }
        return log
    }

    /// Waits until the proxy holds no connection (tunnels and keep-alive connections closed).
    func waitForIdle(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if server.liveConnections == 0 { return true }
            usleep(5000)
        }
        return false
    }

    func connect() throws -> BlockingSocket {
        try BlockingSocket.connect("127.0.0.1", port)
    }

    /// Sends a raw request and returns the whole answer (the proxy closes after an error).
    func rawExchange(_ request: String) throws -> String {
        let socket = try connect()
        try socket.send(request)
        return try socket.receiveAll().text
    }

    /// The status code the proxy answers a CONNECT with (the tunnel, if any, is closed again).
    func connectStatus(_ authority: String) throws -> Int {
        let socket = try connect()
        try socket.send("CONNECT \(authority) HTTP/1.1\r\n\r\n")
        let head = try socket.receive(until: "\r\n\r\n").text
        return Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Opens a CONNECT tunnel and returns the socket after the 200 (or throws with the answer).
    func openTunnel(to authority: String, extra: [UInt8] = []) throws -> BlockingSocket {
        let socket = try connect()
        try socket.send(Array("CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n".utf8) + extra)
        let head = try socket.receive(until: "\r\n\r\n").text
        guard head.hasPrefix("HTTP/1.1 200 ") else { throw TestError("CONNECT \(authority) answered: \(head)") }
        return socket
    }
}

/// A policy that lets tests dial loopback: carve 127/8 and ::1 out of the built-in deny ranges.
func loopbackPolicy(allow: [String], deny: [String] = [], hosts: [String: String] = [:], extra: String = "") -> String {
    var yaml = "version: 1\nlisten: \"127.0.0.1:0\"\nclients: [\"127.0.0.0/8\", \"::1/128\"]\n"
    yaml += "networks:\n  allow: [\"127.0.0.0/8\", \"::1/128\"]\n"
    yaml += allow.isEmpty ? "allow: []\n" : "allow:\n" + allow.map { "  - \"\($0)\"\n" }.joined()
    if !deny.isEmpty { yaml += "deny:\n" + deny.map { "  - \"\($0)\"\n" }.joined() }
    if !hosts.isEmpty { yaml += "hosts:\n" + hosts.map { "  \($0.key): \($0.value)\n" }.joined() }
    return yaml + extra
}
