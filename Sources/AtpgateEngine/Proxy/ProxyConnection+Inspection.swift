import AtpgateIO

/// An inspected CONNECT (issue 11): decided, resolved and vetted like any tunnel, then the `200`, and the
/// rest belongs to `InspectedTunnel`; its end writes the CONNECT's line.
extension ProxyConnection {
    func startInspection(_ admitted: Admitted, targets: [SocketAddress]) {
        guard let material = context.inspection.material else {
            fail(.inspectionUnavailable, request: admitted.request)
            return
        }
        admitted.request.record.status = 200
        admitted.request.tunnelOpened()
        armLifetime(admitted)
        let tunnel = InspectedTunnel(client: client, clientAddress: clientAddress, loop: loop, deadline: deadline,
                                     context: context, admitted: admitted, targets: targets, material: material)
        state = .inspecting(admitted, tunnel)
        client.send(Self.connectionEstablished) { [self] error in
            guard case .inspecting(_, let current) = state, current === tunnel else { return }
            if let error {
                finish(admitted.request, status: 200, error: EndReason.broke(.client, error).rawValue)
                close()
                return
            }
            tunnel.start { [self] end in inspectionEnded(end, admitted, tunnel) }
        }
    }

    private func inspectionEnded(_ end: InspectedTunnel.End, _ admitted: Admitted, _ tunnel: InspectedTunnel) {
        guard case .inspecting(_, let current) = state, current === tunnel else { return }
        let request = admitted.request
        request.record.bytesUp = tunnel.bytesUp
        request.record.bytesDown = tunnel.bytesDown
        request.record.inspection = tunnel.facts
        request.record.upstream = tunnel.upstreamAddress?.description
        switch end {
        case .refused(let token, let rule, let reason, let alert):
            request.record.decision = "deny"
            request.record.rule = rule
            context.logger.info("refused \(clientAddress) -> \(admitted.host):\(admitted.forward.port): \(reason)")
            finish(request, status: 200, error: token)
            if alert.isEmpty {
                close()
            } else {
                lingerClose(after: alert)
            }
        case .ended(let reason):
            finish(request, status: 200, error: reason?.rawValue)
            close()
        }
    }
}
