#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet
import AtpgatePolicy
import AtpgateIO
import AtpgateTLS

/// An inspected CONNECT (issue 11) from the proxy's `200` until its inner requests begin: the ClientHello
/// peek (when `tls` applies to the port, with the same SNI rule as a relayed tunnel), a minted leaf for the
/// CONNECT host, and the client-facing handshake that verifies the client's certificate. No upstream
/// connection exists yet: it is made by the session, for the first inner request the policy allows, so a
/// client that fails verification never causes one. `timeouts.head` bounds everything here.
/// Confined to the loop's queue.
final class InspectedTunnel: @unchecked Sendable {
    enum End {
        /// Refused before any inner request: the CONNECT line's decision is "deny" with `rule` and `token`.
        /// `alert`: bytes for the client before the close (the peek's alert; the TLS stack sends its own).
        case refused(token: String, rule: String, reason: String, alert: [UInt8])
        /// The inner requests ran and the tunnel ended (nil: orderly).
        case ended(EndReason?)
    }

    private enum Phase {
        case idle
        case peeking(HelloPeek)
        case minting
        case handshaking(TLSStream)
        case serving(InspectedSession)
        case ended
    }

    private let client: SocketChannel
    private let clientAddress: SocketAddress
    private let loop: IOLoop
    private let deadline: Deadline
    private let context: ProxyContext
    private let admitted: ProxyConnection.Admitted
    private let targets: [SocketAddress]
    private let material: InspectionMaterial
    private var phase = Phase.idle
    private var onEnd: ((End) -> Void)?
    /// Who is on each leg, for every line of this tunnel.
    private(set) var facts = InspectionFacts()

    init(client: SocketChannel, clientAddress: SocketAddress, loop: IOLoop, deadline: Deadline, context: ProxyContext,
         admitted: ProxyConnection.Admitted, targets: [SocketAddress], material: InspectionMaterial) {
        self.client = client
        self.clientAddress = clientAddress
        self.loop = loop
        self.deadline = deadline
        self.context = context
        self.admitted = admitted
        self.targets = targets
        self.material = material
    }

    /// Where the tunnel's requests went (the last upstream connection), nil before any.
    private(set) var upstreamAddress: SocketAddress?

    /// Bytes moved inside the tunnel so far (inner requests and responses).
    var bytesUp: UInt64 { if case .serving(let session) = phase { session.bytesUp } else { 0 } }
    var bytesDown: UInt64 { if case .serving(let session) = phase { session.bytesDown } else { 0 } }

    /// Runs after the client has the `200`.
    func start(onEnd: @escaping (End) -> Void) {
        self.onEnd = onEnd
        let seconds = admitted.policy.timeouts.head
        deadline.arm(after: seconds) { [self] in timedOut(seconds) }
        admitted.request.record.inspection = facts
        client.unread(admitted.leftover)
        guard admitted.policy.tls.peeks(port: admitted.forward.port) else {
            mintLeaf(helloBytes: [])
            return
        }
        let peek = HelloPeek(client: client, loop: loop)
        phase = .peeking(peek)
        peek.start { [self] outcome in
            guard case .peeking(let current) = phase, current === peek else { return }
            let verdict = HelloVerdict(outcome, connectHost: admitted.host, facts: &admitted.request.record.tls)
            counters.peeked(verdict.peekResult)
            switch verdict {
            case .failed(let refusal, _) where admitted.policy.tls.enforces(port: admitted.forward.port):
                refuse(token: refusal.token.rawValue, rule: HelloRefusal.rule, reason: refusal.reason, alert: refusal.alert)
            case .failed(_, let bytes), .passed(let bytes):
                mintLeaf(helloBytes: bytes)
            case .clientBroke(let reason):
                end(.ended(reason))
            }
        }
    }

    /// The addresses the CONNECT was vetted for (what a `cut-denied` reload checks again).
    var vettedAddresses: [IPAddress] { targets.map(\.ip) }

    /// Stops without reporting: the connection is closing.
    func abort() {
        onEnd = nil
        close(reason: .shutdown)
    }

    /// Ends the tunnel now (shutdown, a policy cut), logging `reason`.
    func close(reason: EndReason) {
        switch phase {
        case .peeking(let peek): peek.stop()
        case .handshaking(let stream): stream.close()
        case .serving(let session): session.close(reason: reason); return   // the session reports its end
        case .idle, .minting, .ended: break
        }
        end(.ended(reason))
    }

    // MARK: Steps

    private func mintLeaf(helloBytes: [UInt8]) {
        phase = .minting
        let host = Self.leafHost(admitted.host)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        // Minting runs off the loop (LeafCache): a new host never stalls the other connections.
        context.leaves.leaf(for: host, ca: material.ca, now: Int64(now.tv_sec), on: loop.queue) { [self] result in
            guard case .minting = phase else { return }
            switch result {
            case .success(let leaf):
                handshake(leaf, helloBytes: helloBytes)
            case .failure(let error):
                context.logger.error("cannot mint a certificate for \(host): \(error)")
                refuse(token: InspectionRefusal.leafFailed.rawValue, rule: "inspection.ca", reason: error.description, alert: [])
            }
        }
    }

    private func handshake(_ leaf: MintedLeaf, helloBytes: [UInt8]) {
        let stream: TLSStream
        do {
            stream = try material.server.makeStream(transport: client, certificateChain: leaf.chain, privateKey: leaf.key,
                                                    alreadyRead: helloBytes)
        } catch {
            counters.handshake(.client, .failed)
            refuse(token: InspectionRefusal.clientTLSFailed.rawValue, rule: InspectionRefusal.clientRule,
                   reason: error.description, alert: [])
            return
        }
        phase = .handshaking(stream)
        stream.handshake { [self] result in
            guard case .handshaking(let current) = phase, current === stream else { return }
            switch result {
            case .failure(let error):
                let token: InspectionRefusal
                switch error {
                case .noClientCertificate: token = .clientCertRequired
                case .certificateVerifyFailed: token = .clientCertInvalid
                default: token = .clientTLSFailed
                }
                counters.handshake(.client, Self.handshakeResult(token))
                stream.close()
                refuse(token: token.rawValue, rule: InspectionRefusal.clientRule, reason: "client handshake: \(error)", alert: [])
            case .success(let info):
                facts.clientSubject = info.peerSubject
                facts.clientSHA256 = info.peerSHA256
                facts.clientVerified = info.peerVerified && info.peerCertificate != nil
                admitted.request.record.inspection = facts
                // Belt and braces: with `require` the handshake already failed for such a client.
                if material.settings.clients.require && !facts.clientVerified {
                    counters.handshake(.client, .certRequired)
                    stream.close()
                    refuse(token: InspectionRefusal.clientCertRequired.rawValue, rule: InspectionRefusal.clientRule,
                           reason: "client handshake: no verified client certificate", alert: [])
                    return
                }
                counters.handshake(.client, .ok)
                serve(stream, info: info)
            }
        }
    }

    private func serve(_ stream: TLSStream, info: TLSHandshakeInfo) {
        deadline.disarm()
        // An upstream client certificate only ever stands in for a client whose own one was verified.
        let identity = facts.clientVerified ? info.peerCertificate.flatMap { material.upstreamIdentity(forVerified: $0) } : nil
        facts.upstreamClientSubject = identity?.chain.first?.subject
        let session = InspectedSession(client: stream, clientAddress: clientAddress, loop: loop, deadline: deadline, context: context,
                                       admitted: admitted, targets: targets, material: material, identity: identity,
                                       facts: facts)
        phase = .serving(session)
        session.start { [self] reason in
            facts = session.facts
            upstreamAddress = session.lastUpstreamAddress
            end(.ended(reason))
        }
    }

    // MARK: Ending

    private func timedOut(_ seconds: Double) {
        switch phase {
        case .peeking(let peek):
            peek.stop()
            // The same token as a relayed tunnel's peek: the client never finished its ClientHello.
            let refusal = HelloRefusal(token: .helloTimeout, reason: "no complete TLS ClientHello within \(formatSeconds(seconds))")
            counters.peeked(.helloTimeout)
            if admitted.policy.tls.enforces(port: admitted.forward.port) {
                refuse(token: refusal.token.rawValue, rule: HelloRefusal.rule, reason: refusal.reason, alert: refusal.alert)
            } else {
                mintLeaf(helloBytes: peek.bytes)
            }
        case .minting, .handshaking:
            if case .handshaking(let stream) = phase {
                stream.close()
                counters.handshake(.client, .timeout)
            }
            refuse(token: InspectionRefusal.clientTLSTimeout.rawValue, rule: InspectionRefusal.clientRule,
                   reason: "the client's TLS handshake did not complete within \(formatSeconds(seconds))", alert: [])
        case .idle, .serving, .ended:
            break
        }
    }

    /// How a refused client handshake counts in `atpgate_tls_handshakes_total{leg="client"}`.
    static func handshakeResult(_ refusal: InspectionRefusal) -> HandshakeResult {
        switch refusal {
        case .clientCertRequired: return .certRequired
        case .clientCertInvalid: return .certInvalid
        case .clientTLSTimeout: return .timeout
        default: return .failed
        }
    }

    private var counters: LoopCounters { context.metrics.counters(for: loop) }

    private func refuse(token: String, rule: String, reason: String, alert: [UInt8]) {
        end(.refused(token: token, rule: rule, reason: reason, alert: alert))
    }

    private func end(_ end: End) {
        if case .ended = phase { return }
        phase = .ended
        deadline.disarm()
        admitted.request.record.inspection = facts
        let handler = onEnd
        onEnd = nil
        handler?(end)
    }

    /// The leaf's name: the CONNECT host as the policy normalised it.
    static func leafHost(_ host: Host) -> LeafHost {
        switch host {
        case .name(let name):
            return .dns(name)
        case .ip(.v4(let value)):
            return .ip(withUnsafeBytes(of: value.bigEndian) { Array($0) })
        case .ip(.v6(let high, let low)):
            return .ip(withUnsafeBytes(of: high.bigEndian) { Array($0) } + withUnsafeBytes(of: low.bigEndian) { Array($0) })
        }
    }
}
