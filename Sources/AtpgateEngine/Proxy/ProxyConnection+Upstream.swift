import AtpgateNet
import AtpgatePolicy
import AtpgateHTTP
import AtpgateIO

/// Deciding, resolving, vetting and reaching the upstream: the admission path in use.
extension ProxyConnection {
    // MARK: Deciding

    func handle(_ head: HTTPRequestHead, leftover: [UInt8]) {
        let request = Request(client: clientAddress, method: head.method, target: head.target, counters: counters)
        // One read of the store per request: a connection opened (or a keep-alive request begun) before a
        // reload is decided under the policy in force now, not the one it started with.
        let policy = context.policies.policy
        let admission = Admission(policy: policy, selfAddresses: context.selfAddresses)
        do throws(ProxyFailure) {
            if let refusal = admission.checkClient(clientAddress.ip) { throw ProxyFailure(refusal) }
            if PACService.matches(head) {
                servePAC(head, request: request, policy: policy)
                return
            }
            let forward = try ForwardRequest(head: head)
            let host: Host
            do {
                host = try Host.normalize(forward.host)
            } catch {
                throw .badRequest("invalid host: \(error.reason)")
            }
            switch admission.decide(client: nil, host: host, port: forward.port, kind: forward.kind,
                                    decisionClient: clientAddress.ip) {
            case .failure(let refusal):
                throw ProxyFailure(refusal)
            case .success(let decision):
                request.record.rule = decision.rule.text
                // Report mode (`mode: report`): what only the default deny refused goes through, logged as such.
                request.record.decision = decision.isReported ? "report" : "allow"
                resolve(Admitted(request: request, policy: policy, head: head, forward: forward, host: host,
                                 leftover: leftover, client: clientAddress.ip))
            }
        } catch {
            fail(error, request: request)
        }
    }

    /// WPAD / PAC for the clients the policy lets use the proxy; logged like any request.
    private func servePAC(_ head: HTTPRequestHead, request: Request, policy: Policy) {
        let fallback = context.selfAddresses.exact.first?.description ?? policy.listen.first?.description ?? "127.0.0.1:3128"
        let response = context.pac.response(for: head, policy: policy, fallbackProxy: fallback)
        request.record.decision = "allow"
        request.record.rule = "pac"
        request.kind = nil
        request.record.bytesDown = UInt64(response.count)
        finish(request, status: 200, error: nil)
        lingerClose(after: response)
    }

    // MARK: Resolving and vetting

    private func resolve(_ admitted: Admitted) {
        let admission = Admission(policy: admitted.policy, selfAddresses: context.selfAddresses)
        if let addresses = admission.addressesWithoutDNS(for: admitted.host) {
            vetAndConnect(admitted, addresses: addresses)
            return
        }
        // IP literals never get here: they need no DNS.
        guard case .name(let name) = admitted.host else { return }
        state = .resolving(admitted)
        let dnsTimeout = admitted.policy.timeouts.dns
        deadline.arm(after: dnsTimeout) { [self] in
            guard isResolving(admitted.request) else { return }
            fail(.dnsTimeout(name, seconds: dnsTimeout), request: admitted.request)
        }
        let loop = self.loop
        let asked = monotonicNanos()
        context.resolver.resolve(name) { [self] result in
            loop.queue.async { [self] in
                guard isResolving(admitted.request) else { return }
                deadline.disarm()
                context.metrics.dnsSeconds.recordNanoseconds(Int64(monotonicNanos() &- asked))
                switch result {
                case .success(let addresses):
                    vetAndConnect(admitted, addresses: addresses)
                case .failure(.notFound(let reason)):
                    fail(.dnsFailed(name, reason), request: admitted.request)
                case .failure(.timeout):
                    fail(.dnsTimeout(name, seconds: dnsTimeout), request: admitted.request)
                case .failure(.busy):
                    fail(.resolverBusy(name), request: admitted.request)
                }
            }
        }
    }

    /// Fail closed: one denied address refuses the whole request; the good ones are never dialled.
    /// A plain-HTTP request takes an idle pooled connection to one of the vetted addresses when there is one.
    private func vetAndConnect(_ admitted: Admitted, addresses: [IPAddress]) {
        if addresses.isEmpty {
            fail(.dnsFailed(admitted.host.description, "no addresses"), request: admitted.request)
            return
        }
        if let refusal = refusalAfterReload(admitted, addresses: addresses) {
            fail(refusal, request: admitted.request)
            return
        }
        let admission = Admission(policy: admitted.policy, selfAddresses: context.selfAddresses)
        switch admission.vet(addresses, host: admitted.host, port: admitted.forward.port) {
        case .failure(let refusal):
            fail(ProxyFailure(refusal), request: admitted.request)
        case .success(let targets):
            if case .connect = admitted.forward.kind, admitted.policy.inspects(host: admitted.host, port: admitted.forward.port) {
                // Inspected: no upstream connection until the client's certificate has been verified.
                startInspection(admitted, targets: targets.addresses)
                return
            }
            if case .http = admitted.forward.kind,
               let (channel, address) = context.pools.pool(for: loop)?.take(host: admitted.host, port: admitted.forward.port,
                                                                          addresses: targets.addresses) {
                connected(Established(admitted: admitted, upstream: address, reused: true, retried: false), channel)
                return
            }
            dial(admitted, targets: targets.addresses, retried: false)
        }
    }

    /// Dials a new upstream connection to the vetted `targets`. `retried`: the request failed on a
    /// reused connection and this is its one second chance.
    func dial(_ admitted: Admitted, targets: [SocketAddress], retried: Bool) {
        state = .dialing(admitted, nil)
        let timeouts = admitted.policy.timeouts
        let request = DialRequest(addresses: targets, attemptTimeout: timeouts.connect, totalTimeout: timeouts.connect * 2)
        let started = monotonicNanos()
        let attempt = context.dialer.dial(request, on: loop) { [self] result in
            if case .success = result {
                context.metrics.upstreamConnectSeconds.recordNanoseconds(Int64(monotonicNanos() &- started))
            }
            guard isDialing(admitted.request) else {
                if case .success(let connection) = result { connection.channel.close() }
                return
            }
            switch result {
            case .failure(.refused(let message)):
                fail(.connectRefused(message), request: admitted.request)
            case .failure(.timeout):
                fail(.connectTimeout("\(admitted.host):\(admitted.forward.port)"), request: admitted.request)
            case .success(let connection):
                if let refusal = refusalAfterReload(admitted, addresses: [connection.address.ip]) {
                    connection.channel.close()
                    fail(refusal, request: admitted.request)
                    return
                }
                connected(Established(admitted: admitted, upstream: connection.address, reused: false, retried: retried),
                          connection.channel)
            }
        }
        // The dial may have finished (or failed) synchronously; only a dial still in progress is kept.
        if isDialing(admitted.request) { state = .dialing(admitted, attempt) }
    }

    // The request object tells a lookup or dial from a later one on the same connection.
    private func isResolving(_ request: Request) -> Bool {
        if case .resolving(let current) = state { return current.request === request }
        return false
    }

    private func isDialing(_ request: Request) -> Bool {
        if case .dialing(let current, _) = state { return current.request === request }
        return false
    }

    /// A reload with `on_reload: cut-denied` that landed while this request was being resolved or
    /// dialled (`cut` only reaches established connections): the request is decided and vetted again
    /// under the new policy, before dialling and again once connected, so a request the new policy
    /// denies never reaches the upstream. nil when it may go on.
    private func refusalAfterReload(_ admitted: Admitted, addresses: [IPAddress]) -> ProxyFailure? {
        let current = context.policies.policy
        guard current !== admitted.policy, current.onReload == .cutDenied else { return nil }
        let request = admitted.decisionRequest
        let refusal = Admission(policy: current, selfAddresses: context.selfAddresses)
            .recheck(client: request.client, host: request.host, port: request.port, kind: request.kind,
                     addresses: addresses)
        return refusal.map(ProxyFailure.init)
    }
}
