import AtpgatePolicy
import AtpgateHTTP
import AtpgateIO

/// The established states: a CONNECT tunnel, or one forwarded plain-HTTP exchange.
extension ProxyConnection {
    func connected(_ established: Established, _ upstream: SocketChannel) {
        let admitted = established.admitted
        admitted.request.record.upstream = established.upstream.description
        switch admitted.forward.kind {
        case .connect:
            startTunnel(established, upstream)
        case .http(let path):
            forward(established, upstream, path: path)
        }
    }

    // MARK: Tunnel

    private func startTunnel(_ established: Established, _ upstream: SocketChannel) {
        let request = established.admitted.request
        let tunnel = Tunnel(client: client, upstream: upstream, loop: loop, deadline: deadline,
                            idleTimeout: established.admitted.policy.timeouts.idle, statistics: context.statistics)
        state = .tunnel(established, tunnel)
        request.record.status = 200
        tunnel.prepare { [self] reason in
            request.record.bytesUp = tunnel.bytesUp
            request.record.bytesDown = tunnel.bytesDown
            upstream.close()
            finish(request, status: 200, error: reason?.rawValue)
            close()
        }
        // The connection answers the CONNECT itself; the relay starts once the client has the 200.
        // (Between the two is where a look at the client's first bytes goes.)
        client.send(Self.connectionEstablished) { [self] error in
            guard case .tunnel(_, let current) = state, current === tunnel else { return }
            if let error {
                tunnel.close(reason: .broke(.client, error))
                return
            }
            tunnel.start(pipelined: established.admitted.leftover)
        }
    }

    // MARK: Forwarding

    private func forward(_ established: Established, _ upstream: SocketChannel, path: String) {
        let admitted = established.admitted
        let policy = admitted.policy
        let exchange = HTTPExchange(client: client, upstream: upstream, loop: loop, deadline: deadline,
                                    head: admitted.head, host: admitted.forward.host, port: admitted.forward.explicitPort,
                                    path: path, framing: admitted.forward.framing, timeouts: policy.timeouts,
                                    headLimit: max(policy.limits.headBytes, 65536),
                                    keepUpstream: policy.limits.upstreamKeepAlivePerOrigin > 0,
                                    statistics: context.statistics)
        state = .forwarding(established, exchange)
        exchange.start(leftover: admitted.leftover) { [self] outcome in
            exchangeEnded(outcome, established, upstream)
        }
    }

    private func exchangeEnded(_ outcome: HTTPExchange.Outcome, _ established: Established, _ upstream: SocketChannel) {
        let admitted = established.admitted
        let request = admitted.request
        switch outcome {
        case .failedBeforeResponse(let failure, let bytesUp, let unsent, let upstreamSilent):
            upstream.close()
            // A pooled connection the server had already given up on: the request never reached it
            // (not a byte came back), so it is sent once more on a new connection, if that is safe.
            if established.reused && upstreamSilent && unsent.isEmpty && admitted.mayRetry && !stopAccepting {
                dial(admitted, targets: [established.upstream], retried: true)
                return
            }
            request.record.bytesUp = bytesUp
            fail(failure, request: request, after: unsent)
        case .ended(let status, let bytesUp, let bytesDown, let error, let keepAlive, let leftover, let reusable):
            if reusable && !stopAccepting, let pool = context.pools.pool(for: loop) {
                pool.put(upstream, key: UpstreamPool.Key(host: admitted.host, port: admitted.forward.port,
                                                         address: established.upstream),
                         lastUse: admitted.decisionRequest, policy: admitted.policy)
            } else {
                upstream.close()
            }
            request.record.bytesUp = bytesUp
            request.record.bytesDown = bytesDown
            finish(request, status: status, error: error?.rawValue)
            if keepAlive && !stopAccepting {
                beginHead(buffered: leftover)
            } else {
                close()
            }
        }
    }
}
