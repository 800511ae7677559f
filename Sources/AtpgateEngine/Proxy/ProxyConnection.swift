import AtpgateNet
import AtpgatePolicy
import AtpgateHTTP
import AtpgateIO

/// One client connection, from accept to close. Confined to `loop.queue` (hence `@unchecked Sendable`).
///
/// Each state carries the data that is valid in it and nothing else (see docs/architecture.md):
///   readingHead -> (deciding) -> resolving -> dialing -> tunnel                       (CONNECT)
///                                        \-> (pooled) -> forwarding -> readingHead   (plain HTTP, keep-alive)
///   any state -> answering an error -> lingering -> closed
/// Deciding and vetting are synchronous steps between them. A CONNECT to a port in `tls.ports` passes
/// through `peekingHello` (the ClientHello's SNI is checked) between dialing and tunnel; an inspector's
/// handshake (`handshaking`) will join there too, carrying an `Established` like the tunnel does.
///
/// The code is split by concern: reading heads (+Head), admission, resolution and dialling (+Upstream),
/// tunnels and forwarded exchanges (+Relay), errors and closing (+Ending).
final class ProxyConnection: @unchecked Sendable {
    enum State {
        /// Accepted; `start` not called yet.
        case accepted
        case readingHead(HeadBuffer)
        case resolving(Admitted)
        /// The attempt is nil only while the dialer is being started (it may finish synchronously).
        case dialing(Admitted, DialAttempt?)
        /// The `200` is sent (or being sent) and the client's ClientHello is read before anything is
        /// forwarded (`tls` in the policy); the upstream is connected and waits.
        case peekingHello(Established, SocketChannel, HelloPeek)
        case tunnel(Established, Tunnel)
        case forwarding(Established, HTTPExchange)
        /// An inspected CONNECT after its `200` (issue 11): the upstream connection belongs to the tunnel.
        case inspecting(Admitted, InspectedTunnel)
        case lingering
        case closed
    }

    /// One request, from its complete head to its access-log line. A class: every later state shares it.
    /// Confined to the connection's loop queue, like the connection.
    final class Request: @unchecked Sendable {
        var record: AccessRecord
        /// Its one access-log line is written (a request is logged once, whichever end comes first).
        var logged = false
        /// duration_ms counts from the complete head, not from an idle keep-alive wait before it.
        let started = monotonicNanos()
        /// How the request counts in `atpgate_requests_total`; nil for what is not counted (PAC files).
        var kind: RequestKindLabel?
        /// The counters of the loop the request is served on.
        let counters: LoopCounters
        /// The CONNECT's `200` went out: the tunnel counts as active until its line is written.
        private var tunnelOpen = false

        init(client: SocketAddress, method: String, target: String, counters: LoopCounters) {
            self.counters = counters
            kind = method == "CONNECT" ? .connect : .http
            record = AccessRecord(ts: wallClockNow(), client: client.description, method: method, target: target,
                                  decision: "error", rule: nil, upstream: nil, status: 0, bytesUp: 0, bytesDown: 0,
                                  durationMs: 0, error: nil)
        }

        /// Writes the one access-log line of this request (later calls do nothing).
        func complete(status: Int, error: String?, log: (AccessRecord) -> Void) {
            guard !logged else { return }
            logged = true
            var line = record
            line.status = status
            line.error = error
            line.durationMs = Double(monotonicNanos() &- started) / 1e6
            log(line)
            if let kind {
                counters.count(kind, decision: line.decision, token: error)
            } else if let reason = DenialReason.of(decision: line.decision, token: error) {
                counters.denied(reason)   // a refusal that is not a request (the connection limits)
            }
            if tunnelOpen {
                tunnelOpen = false
                counters.activeTunnels -= 1
            }
        }

        /// The CONNECT's `200` is on its way: an active tunnel until the line is written.
        func tunnelOpened() {
            guard !tunnelOpen, !logged else { return }
            tunnelOpen = true
            counters.activeTunnels += 1
        }
    }

    /// A request the policy allowed, on its way upstream. Its `Request` is confined to the loop queue.
    /// Immutable, and a class so that every state, closure and retry that carries it holds one reference
    /// rather than a copy of a dozen (a copy retains each field: measured on the TLS peek's path).
    final class Admitted: @unchecked Sendable {
        let request: Request
        /// The policy it was decided under (one read of the store per request).
        let policy: Policy
        let head: HTTPRequestHead
        let forward: ForwardRequest
        let host: Host
        /// Bytes the client sent behind the head (a body's start, a pipelined request, a ClientHello).
        let leftover: [UInt8]
        let client: IPAddress

        init(request: Request, policy: Policy, head: HTTPRequestHead, forward: ForwardRequest, host: Host,
             leftover: [UInt8], client: IPAddress) {
            self.request = request
            self.policy = policy
            self.head = head
            self.forward = forward
            self.host = host
            self.leftover = leftover
            self.client = client
        }

        var decisionRequest: DecisionRequest {
            DecisionRequest(client: client, host: host, port: forward.port, kind: forward.kind)
        }

        /// Whether a request that failed on a reused upstream connection before any response byte may be
        /// sent again on a new one: idempotent methods (RFC 9110 §9.2.2) without a body (a streamed body
        /// is gone once sent).
        var mayRetry: Bool { ProxyConnection.mayRetry(method: head.method, framing: forward.framing) }
    }

    /// An admitted request with its upstream connection: what `on_reload: cut-denied` decides again.
    /// Immutable; a class for the reason `Admitted` is one.
    final class Established {
        let admitted: Admitted
        let upstream: SocketAddress
        /// The connection came from the keep-alive pool.
        let reused: Bool
        /// This is the one retry after a reused connection failed.
        let retried: Bool

        init(admitted: Admitted, upstream: SocketAddress, reused: Bool, retried: Bool) {
            self.admitted = admitted
            self.upstream = upstream
            self.reused = reused
            self.retried = retried
        }
    }

    let id: Int
    let loop: IOLoop
    let client: SocketChannel
    let clientAddress: SocketAddress
    let context: ProxyContext
    let deadline: Deadline
    /// The loop's counters (metrics): every request of this connection is counted there.
    let counters: LoopCounters
    /// Written only by this type's own files (+Head, +Upstream, +Relay, +Ending), on `loop.queue`.
    var state: State = .accepted
    /// Shutdown began: finish the request in hand, take no new one.
    var stopAccepting = false
    /// Counted under the connection limits (set by the registry, under its lock, before `start` goes on;
    /// read by the registry when the connection leaves).
    var holdsSlot = false
    /// `timeouts.tunnel`: ends a tunnel that has lived that long, however busy (armed at its `200`).
    var lifetime: Deadline?

    init(id: Int, loop: IOLoop, socket: Socket, clientAddress: SocketAddress, context: ProxyContext) {
        self.id = id
        self.loop = loop
        self.client = SocketChannel(socket: socket, loop: loop)
        self.clientAddress = clientAddress
        self.context = context
        self.deadline = Deadline(loop: loop)
        self.counters = context.metrics.counters(for: loop)
    }

    func start() {
        loop.assertOnQueue()
        let limits = context.policies.policy.limits
        client.socket.setNoDelay()
        if let refusal = context.registry.add(self, client: clientKey, limits: limits) {
            refuse(over: refusal, limits: limits)
            return
        }
        beginHead(buffered: [])
    }

    /// Graceful shutdown: a connection waiting for a request closes now; one mid-request finishes it
    /// and then closes. `force` ends everything (the grace period is over).
    func shutdown(force: Bool) {
        loop.assertOnQueue()
        stopAccepting = true
        if force {
            switch state {
            case .tunnel(_, let tunnel):
                tunnel.close(reason: .shutdown)
            case .peekingHello(let established, _, _):
                finish(established.admitted.request, status: 200, error: EndReason.shutdown.rawValue)
            case .forwarding(let established, let exchange):
                exchange.abort()
                finish(established.admitted.request, status: established.admitted.request.record.status,
                       error: EndReason.shutdown.rawValue)
            case .inspecting(_, let tunnel):
                tunnel.close(reason: .shutdown)
                return   // the tunnel's end logs and closes
            default:
                break
            }
            close()
        } else if case .readingHead(let buffer) = state, buffer.bytes.isEmpty {
            close()
        }
    }

    /// Closes the tunnel or in-flight forwarded request if `policy` denies its target or the address
    /// it reached (the incident switch). Logged with the error `policy-cut`.
    func cut(ifDeniedBy policy: Policy) {
        loop.assertOnQueue()
        let admitted: Admitted
        let addresses: [IPAddress]
        switch state {
        case .tunnel(let value, _), .forwarding(let value, _), .peekingHello(let value, _, _):
            admitted = value.admitted
            addresses = [value.upstream.ip]
        case .inspecting(let value, let tunnel):
            admitted = value
            addresses = tunnel.vettedAddresses
        default: return
        }
        let request = admitted.decisionRequest
        guard let refusal = Admission(policy: policy, selfAddresses: context.selfAddresses)
            .recheck(client: request.client, host: request.host, port: request.port, kind: request.kind,
                     addresses: addresses) else { return }
        context.logger.notice("cutting \(clientAddress) -> \(request.host):\(request.port): \(refusal.reason)")
        switch state {
        case .tunnel(_, let tunnel):
            tunnel.close(reason: .policyCut)
        case .peekingHello(let established, _, _):
            finish(established.admitted.request, status: 200, error: EndReason.policyCut.rawValue)
            close()
        case .forwarding(let established, let exchange):
            exchange.abort()
            finish(established.admitted.request, status: established.admitted.request.record.status,
                   error: EndReason.policyCut.rawValue)
            close()
        case .inspecting(_, let tunnel):
            tunnel.close(reason: .policyCut)
        default:
            break
        }
    }

    static let connectionEstablished = Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8)

    /// Whether a request that failed on a reused upstream connection before any response byte may be sent
    /// again on a new one: idempotent methods (RFC 9110 §9.2.2) without a body (a streamed body is gone
    /// once sent).
    static func mayRetry(method: String, framing: Pump.Framing) -> Bool {
        guard case .length(0) = framing else { return false }
        return ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"].contains(method)
    }

    static func reason(_ error: HTTPHeadError) -> String {
        switch error {
        case .tooLarge: return "request head too large"
        case .malformed(let reason): return reason
        }
    }
}
