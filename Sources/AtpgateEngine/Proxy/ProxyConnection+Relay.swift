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
        let tls = established.admitted.policy.tls
        if tls.peeks(port: established.admitted.forward.port) {
            peekHello(established, upstream)
            return
        }
        established.admitted.request.record.status = 200
        established.admitted.request.tunnelOpened()
        armLifetime(established.admitted)
        let tunnel = enterTunnel(established, upstream)
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

    /// The relay of a peeked tunnel: the `200` is already with the client; `first` (what the peek read) goes
    /// upstream first, byte for byte as it arrived.
    private func relayPeeked(_ established: Established, _ upstream: SocketChannel, first: [UInt8]) {
        enterTunnel(established, upstream).start(pipelined: first)
    }

    /// The tunnel state: from here on the tunnel's end (or its idle timer) writes the log line and closes.
    private func enterTunnel(_ established: Established, _ upstream: SocketChannel) -> Tunnel {
        let request = established.admitted.request
        let tunnel = Tunnel(client: client, upstream: upstream, loop: loop, deadline: deadline,
                            idleTimeout: established.admitted.policy.timeouts.idle, counters: counters)
        state = .tunnel(established, tunnel)
        tunnel.prepare { [self] reason in
            request.record.bytesUp = tunnel.bytesUp
            request.record.bytesDown = tunnel.bytesDown
            upstream.close()
            finish(request, status: 200, error: reason?.rawValue)
            close()
        }
        return tunnel
    }

    // MARK: TLS peek

    /// Sends the `200`, then reads the client's ClientHello before a byte goes upstream (`tls` in the
    /// policy). The bytes that came with the CONNECT head are the start of it. Bounded by `timeouts.head`.
    private func peekHello(_ established: Established, _ upstream: SocketChannel) {
        let admitted = established.admitted
        admitted.request.record.status = 200
        admitted.request.tunnelOpened()
        armLifetime(admitted)
        let peek = HelloPeek(client: client, loop: loop)
        state = .peekingHello(established, upstream, peek)
        let seconds = admitted.policy.timeouts.head
        deadline.arm(after: seconds) { [self] in
            guard case .peekingHello(_, _, let current) = state, current === peek else { return }
            peek.stop()
            helloEnded(.failed(HelloRefusal(token: .helloTimeout, reason: "no complete TLS ClientHello within \(seconds) s"),
                               bytes: peek.bytes), established, upstream)
        }
        client.send(Self.connectionEstablished) { [self] error in
            guard case .peekingHello(_, _, let current) = state, current === peek else { return }
            if let error {
                upstream.close()
                finish(admitted.request, status: 200, error: EndReason.broke(.client, error).rawValue)
                close()
                return
            }
            client.unread(admitted.leftover)
            peek.start { [self] outcome in
                helloEnded(HelloVerdict(outcome, connectHost: admitted.host, facts: &admitted.request.record.tls),
                           established, upstream)
            }
        }
    }

    /// `enforce` refuses with a fatal alert and a close, the upstream never having seen a byte; `log` (and a
    /// hello that passed) relays what was read, unchanged, and then the rest of the tunnel.
    private func helloEnded(_ verdict: HelloVerdict, _ established: Established, _ upstream: SocketChannel) {
        deadline.disarm()
        counters.peeked(verdict.peekResult)
        let admitted = established.admitted
        switch verdict {
        case .failed(let refusal, _) where admitted.policy.tls.enforces(port: admitted.forward.port):
            let request = admitted.request
            request.record.decision = "deny"
            request.record.rule = HelloRefusal.rule
            upstream.close()
            context.logger.info("refused \(clientAddress) -> \(admitted.host):\(admitted.forward.port): \(refusal.reason)")
            finish(request, status: 200, error: refusal.token.rawValue)
            lingerClose(after: refusal.alert)
        case .failed(_, let bytes), .passed(let bytes):
            relayPeeked(established, upstream, first: bytes)
        case .clientBroke(let reason):
            upstream.close()
            finish(admitted.request, status: 200, error: reason.rawValue)
            close()
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
                                    counters: counters)
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
