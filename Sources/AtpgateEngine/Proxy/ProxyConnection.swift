import Dispatch
import AtpgateNet
import AtpgatePolicy
import AtpgateHTTP
import AtpgateIO

/// One client connection, from accept to close. Confined to `loop.queue`.
///
/// States (see docs/architecture.md):
///   readingHead -> deciding -> resolving -> dialing -> tunnel            (CONNECT)
///                                                  \-> forwarding -> readingHead (keep-alive)
///   any state -> answering an error -> lingering close -> closed
final class ProxyConnection: @unchecked Sendable {
    enum Phase {
        case readingHead
        case resolving
        case dialing
        case tunnel(Tunnel)
        case forwarding(HTTPExchange)
        case lingering
        case closed
    }

    let id: Int
    let loop: IOLoop
    let client: SocketChannel
    let clientAddress: SocketAddress
    private let context: ProxyContext
    private let deadline: Deadline
    private var policy: Policy
    private(set) var phase: Phase = .readingHead

    private var buffer: [UInt8] = []
    private var scanner = HeadScanner(limit: 16384)
    private var requestStarted: UInt64 = 0
    private var record: AccessRecord?
    private var dial: DialAttempt?
    private var lookupGeneration = 0
    /// What the current tunnel or forwarded request was allowed as, and where it went: a reload
    /// with `on_reload: cut-denied` decides it again under the new policy.
    private var established: (request: DecisionRequest, upstream: SocketAddress)?
    private var stopAccepting = false

    init(id: Int, loop: IOLoop, socket: Socket, clientAddress: SocketAddress, context: ProxyContext) {
        self.id = id
        self.loop = loop
        self.client = SocketChannel(socket: socket, loop: loop)
        self.clientAddress = clientAddress
        self.context = context
        self.deadline = Deadline(loop: loop)
        self.policy = context.policies.policy
    }

    func start() {
        loop.assertOnQueue()
        context.registry.add(self)
        client.socket.setNoDelay()
        beginHead()
    }

    /// Graceful shutdown: a connection waiting for a request closes now; one mid-request finishes it
    /// and then closes. `force` ends everything (the grace period is over).
    func shutdown(force: Bool) {
        loop.assertOnQueue()
        stopAccepting = true
        if force {
            if case .tunnel(let tunnel) = phase { tunnel.close(reason: .shutdown) }
            if case .forwarding(let exchange) = phase {
                exchange.abort()
                finishRequest(status: record?.status ?? 0, error: EndReason.shutdown.rawValue)
            }
            close()
        } else if case .readingHead = phase, buffer.isEmpty {
            close()
        }
    }

    /// Closes the tunnel or in-flight forwarded request if `policy` denies its target or the address
    /// it reached (the incident switch). Logged with the error `policy-cut`.
    func cut(ifDeniedBy policy: Policy) {
        loop.assertOnQueue()
        guard let established else { return }
        let request = established.request
        guard let refusal = Admission(policy: policy, selfAddresses: context.selfAddresses)
            .recheck(client: request.client, host: request.host, port: request.port, kind: request.kind,
                     addresses: [established.upstream.ip]) else { return }
        context.logger.notice("cutting \(clientAddress) -> \(request.host):\(request.port): \(refusal.reason)")
        switch phase {
        case .tunnel(let tunnel):
            tunnel.close(reason: .policyCut)
        case .forwarding(let exchange):
            exchange.abort()
            finishRequest(status: record?.status ?? 0, error: EndReason.policyCut.rawValue)
            close()
        default:
            break
        }
    }

    // MARK: Reading the request head

    /// Starts reading the next request head. The policy read here only sizes the head and its timer;
    /// the request is decided under the policy in force once its head is complete (`processBuffered`).
    private func beginHead() {
        phase = .readingHead
        established = nil
        policy = context.policies.policy
        scanner = HeadScanner(limit: policy.limits.headBytes)
        requestStarted = monotonicNanos()
        record = nil
        deadline.arm(after: policy.timeouts.head) { [self] in headTimedOut() }
        client.setReadHandler { [self] in readHead() }
        if buffer.isEmpty {
            readHead()
        } else {
            // A pipelined request behind the one just served: handle it on a fresh stack, so a client
            // pipelining many requests cannot make the calls nest one level per request.
            loop.queue.async { [self] in
                guard case .readingHead = phase else { return }
                processBuffered()
                readHead()
            }
        }
    }

    /// Reads until the socket would block or a head is complete (handlers must drain: see Pump.readable).
    private func readHead() {
        while case .readingHead = phase {
            let count: Int
            do {
                guard let n = try client.read(into: loop.scratch) else { return }
                count = n
            } catch {
                close()
                return
            }
            if count == 0 {
                // The client went away; a half-sent head is not a request worth logging.
                close()
                return
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
            processBuffered()
        }
    }

    private func processBuffered() {
        let scanned = buffer.withUnsafeBytes { bytes in
            Result { () throws(HTTPHeadError) in try scanner.scan(bytes) }
        }
        let headLength: Int?
        switch scanned {
        case .success(let length):
            headLength = length
        case .failure(.tooLarge):
            fail(.headTooLarge(limit: policy.limits.headBytes), method: "-", target: "-")
            return
        case .failure(.malformed(let reason)):
            fail(.badRequest(reason), method: "-", target: "-")
            return
        }
        guard let headLength else { return }
        client.pauseReading()
        deadline.disarm()
        // One read of the store per decision: a connection opened (or a keep-alive request begun)
        // before a reload is decided under the policy in force now, not the one it started with.
        policy = context.policies.policy
        let leftover = Array(buffer[headLength...])
        let parsed = buffer.withUnsafeBytes { bytes in
            Result { () throws(HTTPHeadError) -> HTTPRequestHead in
                try HTTPRequestHead.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<headLength]))
            }
        }
        buffer = []
        switch parsed {
        case .success(let head):
            handle(head, leftover: leftover)
        case .failure(let error):
            fail(.badRequest(Self.reason(error)), method: "-", target: "-")
        }
    }

    private func headTimedOut() {
        guard case .readingHead = phase else { return }
        if buffer.isEmpty {
            // An idle keep-alive connection, or a client that never spoke: nothing to answer.
            close()
        } else {
            fail(.headTimeout(seconds: policy.timeouts.head), method: "-", target: "-")
        }
    }

    // MARK: Deciding

    private func handle(_ head: HTTPRequestHead, leftover: [UInt8]) {
        // duration_ms counts from the complete head, not from an idle keep-alive wait before it.
        requestStarted = monotonicNanos()
        record = AccessRecord(ts: wallClockNow(), client: clientAddress.description, method: head.method,
                              target: head.target, decision: "error", rule: nil, upstream: nil, status: 0,
                              bytesUp: 0, bytesDown: 0, durationMs: 0, error: nil)
        do throws(ProxyFailure) {
            if let refusal = admission.checkClient(clientAddress.ip) { throw ProxyFailure(refusal) }
            if PACService.matches(head) {
                servePAC(head)
                return
            }
            let request = try ForwardRequest(head: head)
            let host: Host
            do {
                host = try Host.normalize(request.host)
            } catch {
                throw .badRequest("invalid host: \(error.reason)")
            }
            switch admission.decide(client: nil, host: host, port: request.port, kind: request.kind,
                                    decisionClient: clientAddress.ip) {
            case .failure(let refusal):
                throw ProxyFailure(refusal)
            case .success(let decision):
                record?.rule = decision.rule.text
                record?.decision = "allow"
                resolve(host, request: request, head: head, leftover: leftover)
            }
        } catch {
            fail(error)
        }
    }

    /// WPAD / PAC for the clients the policy lets use the proxy; logged like any request.
    private func servePAC(_ head: HTTPRequestHead) {
        let fallback = context.selfAddresses.exact.first?.description ?? policy.listen.first?.description ?? "127.0.0.1:3128"
        let response = context.pac.response(for: head, policy: policy, fallbackProxy: fallback)
        record?.decision = "allow"
        record?.rule = "pac"
        record?.bytesDown = UInt64(response.count)
        finishRequest(status: 200, error: nil)
        lingerClose(after: response)
    }

    // MARK: Resolving and vetting

    private func resolve(_ host: Host, request: ForwardRequest, head: HTTPRequestHead, leftover: [UInt8]) {
        if let addresses = admission.addressesWithoutDNS(for: host) {
            vetAndDial(addresses, host: host, request: request, head: head, leftover: leftover)
            return
        }
        // IP literals never get here: they need no DNS.
        guard case .name(let name) = host else { return }
        phase = .resolving
        lookupGeneration += 1
        let generation = lookupGeneration
        let dnsTimeout = policy.timeouts.dns
        deadline.arm(after: dnsTimeout) { [self] in
            guard case .resolving = phase, generation == lookupGeneration else { return }
            lookupGeneration += 1
            fail(.dnsTimeout(name, seconds: dnsTimeout))
        }
        let loop = self.loop
        context.resolver.resolve(name) { [self] result in
            loop.queue.async { [self] in
                guard case .resolving = phase, generation == lookupGeneration else { return }
                deadline.disarm()
                switch result {
                case .success(let addresses):
                    vetAndDial(addresses, host: host, request: request, head: head, leftover: leftover)
                case .failure(.notFound(let reason)):
                    fail(.dnsFailed(name, reason))
                case .failure(.timeout):
                    fail(.dnsTimeout(name, seconds: dnsTimeout))
                case .failure(.busy):
                    fail(.resolverBusy(name))
                }
            }
        }
    }

    /// Fail closed: one denied address refuses the whole request; the good ones are never dialled.
    private func vetAndDial(_ addresses: [IPAddress], host: Host, request: ForwardRequest,
                            head: HTTPRequestHead, leftover: [UInt8]) {
        if addresses.isEmpty {
            fail(.dnsFailed(host.description, "no addresses"))
            return
        }
        if let refusal = refusalAfterReload(host: host, request: request, addresses: addresses) {
            fail(refusal)
            return
        }
        let targets: Admission.Dial
        switch admission.vet(addresses, host: host, port: request.port) {
        case .failure(let refusal):
            fail(ProxyFailure(refusal))
            return
        case .success(let dial):
            targets = dial
        }
        phase = .dialing
        let timeouts = policy.timeouts
        let dialRequest = DialRequest(addresses: targets.addresses, attemptTimeout: timeouts.connect,
                                      totalTimeout: timeouts.connect * 2)
        dial = context.dialer.dial(dialRequest, on: loop) { [self] result in
            dial = nil
            guard case .dialing = phase else {
                if case .success(let connection) = result { connection.channel.close() }
                return
            }
            switch result {
            case .failure(.refused(let message)):
                fail(.connectRefused(message))
            case .failure(.timeout):
                fail(.connectTimeout("\(host):\(request.port)"))
            case .success(let connection):
                if let refusal = refusalAfterReload(host: host, request: request, addresses: [connection.address.ip]) {
                    connection.channel.close()
                    fail(refusal)
                    return
                }
                record?.upstream = connection.address.description
                established = (DecisionRequest(client: clientAddress.ip, host: host, port: request.port, kind: request.kind),
                               connection.address)
                connected(connection.channel, request: request, head: head, leftover: leftover)
            }
        }
    }

    /// The admission path under the policy this connection's current request is decided by.
    private var admission: Admission { Admission(policy: policy, selfAddresses: context.selfAddresses) }

    /// A reload with `on_reload: cut-denied` that landed while this request was being resolved or
    /// dialled (`cut` only reaches established connections): the request is decided and vetted again
    /// under the new policy, before dialling and again once connected, so a request the new policy
    /// denies never reaches the upstream. nil when it may go on.
    private func refusalAfterReload(host: Host, request: ForwardRequest, addresses: [IPAddress]) -> ProxyFailure? {
        let current = context.policies.policy
        guard current !== policy, current.onReload == .cutDenied else { return nil }
        let refusal = Admission(policy: current, selfAddresses: context.selfAddresses)
            .recheck(client: clientAddress.ip, host: host, port: request.port, kind: request.kind, addresses: addresses)
        return refusal.map(ProxyFailure.init)
    }

    // MARK: Relaying

    private func connected(_ upstream: SocketChannel, request: ForwardRequest, head: HTTPRequestHead, leftover: [UInt8]) {
        switch request.kind {
        case .connect:
            let tunnel = Tunnel(client: client, upstream: upstream, loop: loop, deadline: deadline,
                                idleTimeout: policy.timeouts.idle, statistics: context.statistics)
            phase = .tunnel(tunnel)
            record?.status = 200
            tunnel.prepare { [self] reason in
                record?.bytesUp = tunnel.bytesUp
                record?.bytesDown = tunnel.bytesDown
                upstream.close()
                finishRequest(status: 200, error: reason?.rawValue)
                close()
            }
            // The connection answers the CONNECT itself; the relay starts once the client has the 200.
            // (Between the two is where a look at the client's first bytes goes.)
            client.send(Self.connectionEstablished) { [self] error in
                guard case .tunnel = phase else { return }
                if let error {
                    tunnel.close(reason: .broke(.client, error))
                    return
                }
                tunnel.start(pipelined: leftover)
            }
        case .http(let path):
            let exchange = HTTPExchange(client: client, upstream: upstream, loop: loop, deadline: deadline,
                                        head: head, host: request.host, port: request.explicitPort,
                                        path: path, framing: request.framing, timeouts: policy.timeouts,
                                        headLimit: max(policy.limits.headBytes, 65536),
                                        statistics: context.statistics)
            phase = .forwarding(exchange)
            exchange.start(leftover: leftover) { [self] outcome in
                upstream.close()
                exchangeEnded(outcome)
            }
        }
    }

    private func exchangeEnded(_ outcome: HTTPExchange.Outcome) {
        switch outcome {
        case .failedBeforeResponse(let failure, let bytesUp, let unsent):
            record?.bytesUp = bytesUp
            fail(failure, after: unsent)
        case .ended(let status, let bytesUp, let bytesDown, let error, let keepAlive, let leftover):
            record?.bytesUp = bytesUp
            record?.bytesDown = bytesDown
            finishRequest(status: status, error: error?.rawValue)
            if keepAlive && !stopAccepting {
                buffer = leftover
                beginHead()
            } else {
                close()
            }
        }
    }

    static let connectionEstablished = Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8)

    // MARK: Errors and closing

    /// Answers an error, logs it, and closes the connection (lingering so the client reads the answer).
    /// `after`: bytes owed to the client before the answer (the rest of an interim head).
    private func fail(_ failure: ProxyFailure, method: String? = nil, target: String? = nil, after prefix: [UInt8] = []) {
        if record == nil {
            record = AccessRecord(ts: wallClockNow(), client: clientAddress.description, method: method ?? "-",
                                  target: target ?? "-", decision: "error", rule: nil, upstream: nil, status: 0,
                                  bytesUp: 0, bytesDown: 0, durationMs: 0, error: nil)
        }
        record?.decision = failure.decision
        if let rule = failure.rule { record?.rule = rule }
        dial?.cancel()
        dial = nil
        finishRequest(status: failure.status, error: failure.token)
        let response = ErrorResponse.bytes(status: failure.status, token: failure.token, message: failure.message)
        lingerClose(after: prefix.isEmpty ? response : prefix + response)
    }

    private func finishRequest(status: Int, error: String?) {
        guard var record else { return }
        self.record = nil
        record.status = status
        record.error = error
        record.durationMs = Double(monotonicNanos() &- requestStarted) / 1e6
        context.accessLog(record)
    }

    /// Sends `response`, half-closes, then reads and discards until the client closes or a short
    /// timer ends: closing with unread input would reset the connection and lose the answer.
    private func lingerClose(after response: [UInt8]) {
        phase = .lingering
        buffer = []
        let lingerSeconds = min(2.0, policy.timeouts.grace)
        deadline.arm(after: lingerSeconds) { [self] in close() }
        // Written or not (the client may be gone), the connection then lingers until the timer.
        client.send(response) { [self] _ in
            guard case .lingering = phase else { return }
            finishLinger()
        }
    }

    private func finishLinger() {
        client.socket.shutdownWrite()
        let drain = { [self] in
            while case .lingering = phase {
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

    private func close() {
        if case .closed = phase { return }
        phase = .closed
        dial?.cancel()
        dial = nil
        deadline.cancel()
        client.close()
        context.registry.remove(self)
    }

    static func reason(_ error: HTTPHeadError) -> String {
        switch error {
        case .tooLarge: return "request head too large"
        case .malformed(let reason): return reason
        }
    }
}
