import AtpgateHTTP
import AtpgateIO

/// Error answers, access-log records, lingering and closing.
extension ProxyConnection {
    /// Answers an error, logs it, and closes the connection (lingering so the client reads the answer).
    /// `request`: the request being answered (nil before its head could be parsed: logged as "-").
    /// `after`: bytes owed to the client before the answer (the rest of an interim head).
    func fail(_ failure: ProxyFailure, request: Request?, after prefix: [UInt8] = []) {
        let request = request ?? Request(client: clientAddress, method: "-", target: "-", counters: counters)
        // A request report mode let through keeps `report` when it fails on the way (the token says how);
        // a refusal on purpose (address vetting, say) is a deny all the same.
        if !(request.record.decision == "report" && failure.decision == "error") {
            request.record.decision = failure.decision
        }
        if let rule = failure.rule { request.record.rule = rule }
        if case .dialing(_, let attempt) = state { attempt?.cancel() }
        finish(request, status: failure.status, error: failure.token)
        let extra = failure.retryAfter.map { [HTTPHeader(name: "Retry-After", value: String($0))] } ?? []
        let response = ErrorResponse.bytes(status: failure.status, token: failure.token, message: failure.message,
                                           extraHeaders: extra)
        lingerClose(after: prefix.isEmpty ? response : prefix + response)
    }

    /// Writes the request's access-log record.
    func finish(_ request: Request, status: Int, error: String?) {
        request.complete(status: status, error: error, log: context.accessLog)
    }

    /// Sends `response`, half-closes, then reads and discards until the client closes or a short
    /// timer ends: closing with unread input would reset the connection and lose the answer.
    func lingerClose(after response: [UInt8]) {
        state = .lingering
        let lingerSeconds = min(2.0, context.policies.policy.timeouts.grace)
        deadline.arm(after: lingerSeconds) { [self] in close() }
        // Written or not (the client may be gone), the connection then lingers until the timer.
        client.send(response) { [self] _ in
            guard case .lingering = state else { return }
            finishLinger()
        }
    }

    private func finishLinger() {
        client.socket.shutdownWrite()
        let drain = { [self] in
            while case .lingering = state {
                switch Result(catching: { () throws(SocketError) in try client.read(into: loop.scratch) }) {
                case .success(.some(let n)) where n > 0: continue      // discard
                case .success(.none): return                           // would block: wait
                default: close(); return                               // end of stream or error
                }
            }
        }
        client.setReadHandler(drain)
        drain()
    }

    func close() {
        switch state {
        case .closed: return
        case .dialing(_, let attempt): attempt?.cancel()
        case .peekingHello(_, let upstream, let peek):
            peek.stop()
            upstream.close()
        case .inspecting(_, let tunnel):
            tunnel.abort()
        default: break
        }
        state = .closed
        deadline.cancel()
        lifetime?.cancel()
        client.close()
        context.registry.remove(self, client: clientKey)
    }
}
