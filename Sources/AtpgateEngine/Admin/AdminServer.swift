import Dispatch
import Logging
import AtpgateNet
import AtpgatePolicy
import AtpgateIO

/// The admin listener (`admin:` in the policy): `/healthz`, `/readyz`, `/metrics`, `/policy`. One listener
/// on the first loop: scrapes and probes are rare, and a scrape gathers every loop's counters anyway.
/// Its address is bound at start-up (a reload does not move it) and counts among the proxy's own
/// endpoints, which the proxy never dials. Who may use it is read from the policy in force at each request.
final class AdminServer: @unchecked Sendable {   // `connections` is confined to `loop.queue`
    private let listener: Listener
    private let loop: IOLoop
    private let policies: PolicyStore
    private let metrics: ProxyMetrics
    private let state: @Sendable () -> (ready: Bool, dropped: Int)
    private var connections: [ObjectIdentifier: AdminConnection] = [:]

    var address: SocketAddress { listener.address }

    init(listen: ListenAddress, loop: IOLoop, policies: PolicyStore, metrics: ProxyMetrics, logger: Logger,
         state: @escaping @Sendable () -> (ready: Bool, dropped: Int)) throws(SocketError) {
        self.loop = loop
        self.policies = policies
        self.metrics = metrics
        self.state = state
        let address = SocketAddress(ip: listen.ip, port: try Listener.claimPort(SocketAddress(ip: listen.ip, port: listen.port)))
        // The listener exists before `self` does: it reaches the server through a weak reference.
        let relay = AcceptRelay()
        listener = try Listener(address: address, loop: loop, reusePort: false, logger: logger) { socket, peer in
            guard let server = relay.server else { socket.close(); return }
            server.accepted(socket, peer)
        }
        relay.server = self
    }

    private final class AcceptRelay: @unchecked Sendable {   // set once in `init`, then only read on `loop.queue`
        weak var server: AdminServer?
    }

    func start() { listener.start() }

    func stop() { listener.stop() }

    func admits(_ address: IPAddress) -> Bool {
        policies.policy.admin?.admits(address) ?? false
    }

    private func accepted(_ socket: Socket, _ peer: SocketAddress) {
        let connection = AdminConnection(socket: socket, peer: peer, loop: loop, server: self)
        connections[ObjectIdentifier(connection)] = connection
        connection.start()
    }

    func closed(_ connection: AdminConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    /// The answer for `route`, delivered on `loop`'s queue.
    func answer(_ route: AdminRoute, on loop: IOLoop, _ reply: @escaping @Sendable (AdminResponse) -> Void) {
        switch route {
        case .healthz:
            reply(.text(200, "ok"))
        case .readyz:
            reply(state().ready ? .text(200, "ready") : .text(503, "draining"))
        case .policy:
            var response = AdminResponse(status: 200, body: Array(policies.policy.effectiveJSON.utf8))
            response.contentType = "application/json"
            reply(response)
        case .metrics:
            let state = self.state
            metrics.scrape(on: loop.queue, dropped: { state().dropped }) { text in
                var response = AdminResponse(status: 200, body: text)
                response.contentType = "text/plain; version=0.0.4; charset=utf-8"
                reply(response)
            }
        }
    }
}
