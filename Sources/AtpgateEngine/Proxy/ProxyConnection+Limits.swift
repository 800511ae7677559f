import AtpgateNet
import AtpgatePolicy
import AtpgateHTTP
import AtpgateIO

/// The connection limits and the tunnel's lifetime (issue 12): `limits.max_connections`,
/// `limits.max_connections_per_client` and `timeouts.tunnel`.
extension ProxyConnection {
    /// Seconds a refused client is asked to wait (`Retry-After`): long enough for a sensor's other
    /// connections to finish a request, short enough that it does not give up.
    static let retryAfterSeconds = 5

    /// The per-client key: an IPv4-mapped peer of a dual-stack socket counts as the IPv4 it is.
    var clientKey: IPAddress { clientAddress.ip.mappedIPv4 ?? clientAddress.ip }

    /// Over a limit: answered at once, without reading the request (the connection holds no slot and
    /// should cost as little as possible), logged, and closed; everyone else is served as before.
    func refuse(over limit: DenialReason, limits: Limits) {
        let failure: ProxyFailure
        switch limit {
        case .clientLimit:
            failure = ProxyFailure(status: 429, token: limit.rawValue,
                                   message: "more than \(limits.maxConnectionsPerClient ?? 0) connections from \(clientKey)",
                                   retryAfter: Self.retryAfterSeconds)
        default:
            failure = ProxyFailure(status: 503, token: DenialReason.proxyFull.rawValue,
                                   message: "the proxy has \(limits.maxConnections ?? 0) connections open (limits.max_connections)",
                                   retryAfter: Self.retryAfterSeconds)
        }
        let request = Request(client: clientAddress, method: "-", target: "-", counters: counters)
        request.kind = nil   // no request was read: counted under atpgate_denials_total only
        context.logger.info("refused \(clientAddress): \(failure.message)")
        fail(failure, request: request)
    }

    /// Arms `timeouts.tunnel` when a CONNECT's `200` goes out: the tunnel then ends with `max-duration`
    /// at that age, whatever state it is in (peeking, relaying, inspecting).
    func armLifetime(_ admitted: Admitted) {
        guard let seconds = admitted.policy.timeouts.tunnel else { return }
        let timer = lifetime ?? Deadline(loop: loop)
        lifetime = timer
        timer.arm(after: seconds) { [self] in reachedMaxDuration(admitted.request) }
    }

    private func reachedMaxDuration(_ request: Request) {
        switch state {
        case .tunnel(let established, let tunnel) where established.admitted.request === request:
            tunnel.close(reason: .maxDuration)
        case .peekingHello(let established, _, _) where established.admitted.request === request:
            finish(request, status: 200, error: EndReason.maxDuration.rawValue)
            close()
        case .inspecting(let admitted, let tunnel) where admitted.request === request:
            tunnel.close(reason: .maxDuration)
        default:
            break
        }
    }
}
