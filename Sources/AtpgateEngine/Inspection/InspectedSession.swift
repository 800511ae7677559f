import AtpgateNet
import AtpgatePolicy
import AtpgateHTTP
import AtpgateIO
import AtpgateTLS

/// The requests inside an inspected tunnel (issue 11), once the client's certificate was verified: each
/// HTTP/1.1 request is read with the same parser as plain HTTP and decided again — its `Host` must be the
/// CONNECT host (else 421), the policy's `https://` path rules apply (else 403) — then forwarded on the
/// upstream TLS connection, which is made for the first request that may go (never before) and made again
/// when the upstream closed it. One access-log line per inner request. Anything that is not HTTP/1.1 ends
/// the tunnel with a logged reason. Confined to the loop's queue.
final class InspectedSession: @unchecked Sendable {
    private enum Phase {
        case readingHead(HeadBuffer)
        /// The upstream connection for `request` is being dialled or its handshake runs.
        case connecting(InnerRequest)
        case exchanging(InnerRequest, HTTPExchange)
        /// An answer the proxy wrote itself is on its way; then the session ends.
        case answering
        case ended
    }

    /// One request inside the tunnel on its way.
    struct InnerRequest {
        let request: ProxyConnection.Request
        let head: HTTPRequestHead
        let path: String
        let framing: Pump.Framing
        let leftover: [UInt8]
        /// This is the one retry after a reused upstream connection failed.
        var retried = false
    }

    private let client: TLSStream
    private let clientAddress: SocketAddress
    private let loop: IOLoop
    private let deadline: Deadline
    private let context: ProxyContext
    private let admitted: ProxyConnection.Admitted
    private let targets: [SocketAddress]
    private let material: InspectionMaterial
    private let identity: InspectionMaterial.UpstreamIdentity?
    private var upstream: TLSStream?
    private var upstreamAddress: SocketAddress?
    /// The upstream connection has served a request before (a failure before any response byte on it may
    /// be the server having closed it meanwhile: the request is then sent once more on a new one).
    private var upstreamReused = false
    private var dial: (any DialAttempt)?
    private var phase: Phase = .ended
    private var onEnd: ((EndReason?) -> Void)?
    private(set) var facts: InspectionFacts
    /// The address of the last upstream connection made (for the CONNECT's line).
    private(set) var lastUpstreamAddress: SocketAddress?
    private(set) var bytesUp: UInt64 = 0
    private(set) var bytesDown: UInt64 = 0

    init(client: TLSStream, clientAddress: SocketAddress, loop: IOLoop, deadline: Deadline, context: ProxyContext, admitted: ProxyConnection.Admitted,
         targets: [SocketAddress], material: InspectionMaterial, identity: InspectionMaterial.UpstreamIdentity?,
         facts: InspectionFacts) {
        self.client = client
        self.clientAddress = clientAddress
        self.loop = loop
        self.deadline = deadline
        self.context = context
        self.admitted = admitted
        self.targets = targets
        self.material = material
        self.identity = identity
        self.facts = facts
    }

    private var policy: Policy { admitted.policy }

    func start(onEnd: @escaping (EndReason?) -> Void) {
        self.onEnd = onEnd
        readNextHead(buffered: [])
    }

    /// Ends now (shutdown, a policy cut, the tunnel's own end).
    func close(reason: EndReason?) {
        if case .exchanging(let inner, let exchange) = phase {
            exchange.abort()
            inner.request.complete(status: inner.request.record.status, error: reason?.rawValue, log: context.accessLog)
        }
        if case .connecting(let inner) = phase {
            inner.request.complete(status: 0, error: reason?.rawValue, log: context.accessLog)
        }
        end(reason)
    }

    // MARK: Reading a request

    /// Waits for the next request; between requests `timeouts.idle` applies (a sensor keeps its connection).
    private func readNextHead(buffered: [UInt8]) {
        let buffer = HeadBuffer(limit: policy.limits.headBytes, buffered: buffered)
        phase = .readingHead(buffer)
        deadline.arm(after: policy.timeouts.idle) { [self] in
            guard case .readingHead(let current) = phase, current === buffer else { return }
            end(buffer.bytes.isEmpty ? nil : .idleTimeout)
        }
        client.setReadHandler { [self] in readHead() }
        if !buffered.isEmpty {
            // A pipelined request: handled on a fresh stack, like ProxyConnection's.
            loop.queue.async { [self] in
                guard case .readingHead(let current) = phase, current === buffer else { return }
                scan(buffer)
                readHead()
            }
        }
    }

    private func readHead() {
        while case .readingHead(let buffer) = phase {
            let count: Int
            do {
                guard let n = try client.read(into: loop.scratch) else { return }
                count = n
            } catch {
                end(.broke(.client, error))
                return
            }
            if count == 0 {
                // The client closed between requests: an orderly end (mid-head: it went away).
                end(buffer.bytes.isEmpty ? nil : .clientFailed)
                return
            }
            buffer.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
            scan(buffer)
        }
    }

    private func scan(_ buffer: HeadBuffer) {
        let scanned = buffer.bytes.withUnsafeBytes { bytes in
            Result { () throws(HTTPHeadError) in try buffer.scanner.scan(bytes) }
        }
        let headLength: Int
        switch scanned {
        case .success(nil):
            return
        case .success(let length?):
            headLength = length
        case .failure(.tooLarge):
            answer(.headTooLarge(limit: buffer.scanner.limit), request: nil)
            return
        case .failure(.malformed(let reason)):
            notHTTP11("malformed request head: \(reason)")
            return
        }
        client.pauseReading()
        deadline.disarm()
        let parsed = buffer.bytes.withUnsafeBytes { bytes in
            Result { () throws(HTTPHeadError) -> HTTPRequestHead in
                try HTTPRequestHead.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<headLength]))
            }
        }
        switch parsed {
        case .success(let head) where head.version == .http1_1:
            handle(head, leftover: Array(buffer.bytes[headLength...]))
        case .success(let head):
            notHTTP11("request line \(head.method) \(head.target) is not HTTP/1.1")
        case .failure(let error):
            notHTTP11("malformed request head: \(ProxyConnection.reason(error))")
        }
    }

    // MARK: Deciding

    private func handle(_ head: HTTPRequestHead, leftover: [UInt8]) {
        let authority = Self.authority(admitted.forward.host, port: admitted.forward.port)
        let request = innerRequest(method: head.method, target: "https://\(authority)\(head.target)")
        request.record.inspection = facts
        do throws(ProxyFailure) {
            let path = try originPath(head)
            try checkHost(head)
            let decision = policy.decideInner(host: admitted.host, port: admitted.forward.port, path: path)
            request.record.rule = decision.rule.text
            switch decision.outcome {
            case .invalidPath:
                throw .badRequest(decision.reason)
            case .deny:
                var failure = ProxyFailure(status: 403, token: "denied", message: decision.reason)
                failure.rule = decision.rule.text
                throw failure
            case .allow:
                request.record.decision = "allow"
            }
            let inner = InnerRequest(request: request, head: head, path: path, framing: try ForwardRequest.bodyFraming(head),
                                     leftover: leftover)
            if let upstream {
                exchange(inner, upstream)
            } else {
                connect(for: inner)
            }
        } catch {
            answer(error, request: request)
        }
    }

    /// The path the request names: origin form ("/x?y"), or absolute form for this very host.
    private func originPath(_ head: HTTPRequestHead) throws(ProxyFailure) -> String {
        let target: RequestTarget
        do {
            target = try RequestTarget.parse(method: head.method, target: head.target)
        } catch {
            throw .badRequest(ProxyConnection.reason(error))
        }
        switch target {
        case .origin(let path):
            return path
        case .absolute(let scheme, let host, let port, let path) where scheme == "https":
            guard sameAuthority(host: host, port: port ?? 443) else {
                throw .misdirected(host: host, tunnel: admitted.host.description)
            }
            return path
        case .absolute(let scheme, _, _, _):
            throw .badRequest("a \(scheme):// URL inside an https tunnel")
        case .authority:
            throw .badRequest("CONNECT inside an inspected tunnel is not served")
        case .asterisk:
            throw .badRequest("OPTIONS * is not served")
        }
    }

    /// RFC 9110 §7.2: exactly one Host, and here it must name the CONNECT target (port 443 may be left out).
    private func checkHost(_ head: HTTPRequestHead) throws(ProxyFailure) {
        let values = head.values("host")
        guard values.count == 1, let value = values.first else {
            throw .badRequest(values.isEmpty ? "no Host header" : "more than one Host header")
        }
        let hostPart: String
        let port: UInt16
        do {
            guard case .authority(let host, let explicitPort) = try RequestTarget.parse(method: "CONNECT", target: Self.withPort(value)) else {
                throw ProxyFailure.badRequest("invalid Host \(value)")
            }
            hostPart = host
            port = explicitPort
        } catch let failure as ProxyFailure {
            throw failure
        } catch {
            throw .badRequest("invalid Host header")
        }
        guard sameAuthority(host: hostPart, port: port) else {
            throw .misdirected(host: value, tunnel: Self.authority(admitted.forward.host, port: admitted.forward.port))
        }
    }

    private func sameAuthority(host: String, port: UInt16) -> Bool {
        guard port == admitted.forward.port, let normalized = try? Host.normalize(host) else { return false }
        return normalized == admitted.host
    }

    /// "host" → "host:443", "[::1]" → "[::1]:443"; a value with a port stays.
    static func withPort(_ value: String) -> String {
        if value.hasPrefix("[") { return value.hasSuffix("]") ? value + ":443" : value }
        return value.contains(":") ? value : value + ":443"
    }

    static func authority(_ host: String, port: UInt16) -> String {
        port == 443 ? host : "\(host):\(port)"
    }

    // MARK: The upstream connection

    /// Dials the vetted addresses, then the upstream handshake: SNI and the name check for the CONNECT host,
    /// and the client certificate chosen for this (verified) client.
    private func connect(for inner: InnerRequest) {
        phase = .connecting(inner)
        let timeouts = policy.timeouts
        let request = DialRequest(addresses: targets, attemptTimeout: timeouts.connect, totalTimeout: timeouts.connect * 2)
        let started = monotonicNanos()
        dial = context.dialer.dial(request, on: loop) { [self] result in
            if case .success = result {
                context.metrics.upstreamConnectSeconds.recordNanoseconds(Int64(monotonicNanos() &- started))
            }
            guard case .connecting(let current) = phase, current.request === inner.request else {
                if case .success(let connection) = result { connection.channel.close() }
                return
            }
            dial = nil
            switch result {
            case .failure(.refused(let message)):
                answer(.connectRefused(message), request: inner.request)
            case .failure(.timeout):
                answer(.connectTimeout(admitted.host.description), request: inner.request)
            case .success(let connection):
                upstreamHandshake(inner, connection.channel, address: connection.address)
            }
        }
    }

    private func upstreamHandshake(_ inner: InnerRequest, _ channel: SocketChannel, address: SocketAddress) {
        let stream: TLSStream
        do {
            stream = try material.client.makeStream(transport: channel, host: admitted.forward.host,
                                                    certificateChain: identity?.chain ?? [], privateKey: identity?.key)
        } catch {
            channel.close()
            counters.handshake(.upstream, .failed)
            answer(.upstreamTLSFailed(error.description), request: inner.request)
            return
        }
        inner.request.record.upstream = address.description
        deadline.arm(after: policy.timeouts.connect) { [self] in
            guard case .connecting(let current) = phase, current.request === inner.request else { return }
            stream.close()
            counters.handshake(.upstream, .timeout)
            answer(.upstreamTLSFailed("no handshake within \(formatSeconds(policy.timeouts.connect))"), request: inner.request)
        }
        stream.handshake { [self] result in
            guard case .connecting(let current) = phase, current.request === inner.request else {
                stream.close()
                return
            }
            deadline.disarm()
            switch result {
            case .success(let info):
                counters.handshake(.upstream, .ok)
                facts.upstreamServerSubject = info.peerSubject
                upstream = stream
                upstreamAddress = address
                lastUpstreamAddress = address
                exchange(inner, stream)
            case .failure(let error):
                stream.close()
                let failure = Self.upstreamFailure(error, presentedCertificate: identity != nil)
                counters.handshake(.upstream, Self.handshakeResult(failure))
                answer(failure, request: inner.request)
            }
        }
    }

    /// The 502 for an upstream handshake failure (or a failure after it that the TLS layer explains).
    static func upstreamFailure(_ error: TLSHandshakeError, presentedCertificate: Bool) -> ProxyFailure {
        switch error {
        case .certificateVerifyFailed(let reason):
            return .upstreamCertificateInvalid(reason)
        case .peerAlert(let code, _) where presentedCertificate && clientCertificateAlerts.contains(code):
            return .upstreamClientCertificateRejected(error.description)
        case .peerAlert(116, _):
            // certificate_required, and we had none to give.
            return .upstreamClientCertificateRejected(error.description)
        default:
            return .upstreamTLSFailed(error.description)
        }
    }

    /// How an upstream handshake failure counts in `atpgate_tls_handshakes_total{leg="upstream"}`.
    static func handshakeResult(_ failure: ProxyFailure) -> HandshakeResult {
        switch failure.token {
        case ProxyFailure.upstreamCertificateInvalid("").token: return .certInvalid
        case ProxyFailure.upstreamClientCertificateRejected("").token: return .certRejected
        default: return .failed
        }
    }

    private var counters: LoopCounters { context.metrics.counters(for: loop) }

    /// RFC 8446 §6.2 alerts a server sends about the client's certificate: bad_certificate (42),
    /// unsupported_certificate (43), certificate_revoked (44), certificate_expired (45),
    /// certificate_unknown (46), unknown_ca (48), access_denied (49), decrypt_error (51: a signature that
    /// does not verify), certificate_required (116).
    static let clientCertificateAlerts: Set<UInt8> = [42, 43, 44, 45, 46, 48, 49, 51, 116]

    // MARK: Forwarding

    private func exchange(_ inner: InnerRequest, _ upstream: TLSStream) {
        inner.request.record.upstream = upstreamAddress?.description
        inner.request.record.inspection = facts
        let port: UInt16? = admitted.forward.port == 443 ? nil : admitted.forward.port
        let exchange = HTTPExchange(client: client, upstream: upstream, loop: loop, deadline: deadline, head: inner.head,
                                    host: admitted.forward.host, port: port, path: inner.path, framing: inner.framing,
                                    timeouts: policy.timeouts, headLimit: max(policy.limits.headBytes, 65536),
                                    keepUpstream: true, counters: context.metrics.counters(for: loop))
        phase = .exchanging(inner, exchange)
        exchange.start(leftover: inner.leftover) { [self] outcome in
            guard case .exchanging(_, let current) = phase, current === exchange else { return }
            exchangeEnded(outcome, inner, upstream)
        }
    }

    private func exchangeEnded(_ outcome: HTTPExchange.Outcome, _ inner: InnerRequest, _ upstream: TLSStream) {
        switch outcome {
        case .failedBeforeResponse(var failure, let bytesUp, let unsent, let upstreamSilent):
            let reused = upstreamReused
            let tlsFailure = upstream.lastFailure
            dropUpstream()
            // The upstream closed its idle connection before this request reached it: once more, on a new one.
            if reused && upstreamSilent && unsent.isEmpty && tlsFailure == nil && !inner.retried
                && ProxyConnection.mayRetry(method: inner.head.method, framing: inner.framing) {
                var again = inner
                again.retried = true
                connect(for: again)
                return
            }
            // A TLS 1.3 server that refuses our client certificate says so after the handshake: an alert on
            // the first read.
            if let tlsFailure {
                failure = Self.upstreamFailure(tlsFailure, presentedCertificate: identity != nil)
            }
            self.bytesUp += bytesUp
            inner.request.record.bytesUp = bytesUp
            answer(failure, request: inner.request, after: unsent)
        case .ended(let status, let bytesUp, let bytesDown, let error, let keepAlive, let leftover, let reusable):
            self.bytesUp += bytesUp
            self.bytesDown += bytesDown
            inner.request.record.bytesUp = bytesUp
            inner.request.record.bytesDown = bytesDown
            inner.request.complete(status: status, error: error?.rawValue, log: context.accessLog)
            if reusable { upstreamReused = true } else { dropUpstream() }
            if keepAlive {
                readNextHead(buffered: leftover)
            } else {
                end(nil)
            }
        }
    }

    private func dropUpstream() {
        upstream?.close()
        upstream = nil
        upstreamAddress = nil
        upstreamReused = false
    }

    // MARK: Ending

    /// Answers with an error (inside the client's TLS leg), logs the request, and ends the tunnel once the
    /// answer is written.
    private func answer(_ failure: ProxyFailure, request: ProxyConnection.Request?, after prefix: [UInt8] = []) {
        let request = request ?? innerRequest(method: "-", target: "-")
        request.record.decision = failure.decision
        request.record.inspection = facts
        if let rule = failure.rule { request.record.rule = rule }
        request.complete(status: failure.status, error: failure.token, log: context.accessLog)
        dial?.cancel()
        dial = nil
        phase = .answering
        let response = ErrorResponse.bytes(status: failure.status, token: failure.token, message: failure.message)
        deadline.arm(after: min(2.0, policy.timeouts.grace)) { [self] in end(nil) }
        client.send(prefix + response) { [self] error in
            guard case .answering = phase else { return }
            guard error == nil else { end(nil); return }
            lingerAfterAnswer()
        }
    }

    /// close_notify, then read and discard until the client closes (or the timer): closing with unread input
    /// would reset the connection and could lose the answer, as for ProxyConnection's lingering.
    private func lingerAfterAnswer() {
        client.shutdownWrite()
        let drain = { [self] in
            while case .answering = phase {
                switch Result(catching: { () throws(SocketError) in try client.read(into: loop.scratch) }) {
                case .success(.some(let n)) where n > 0: continue
                case .success(.none): return
                default: end(nil); return
                }
            }
        }
        client.setReadHandler(drain)
        drain()
    }

    /// A request inside the tunnel (or what stood for one): counted as `kind="inner"`.
    private func innerRequest(method: String, target: String) -> ProxyConnection.Request {
        let request = ProxyConnection.Request(client: clientAddress, method: method, target: target,
                                              counters: context.metrics.counters(for: loop))
        request.kind = .inner
        return request
    }

    /// What the client sent is not an HTTP/1.1 request: logged, and the tunnel closes without an answer.
    private func notHTTP11(_ reason: String) {
        let request = innerRequest(method: "-", target: "-")
        request.record.decision = "error"
        request.record.inspection = facts
        context.logger.info("inspected tunnel to \(admitted.host): \(reason)")
        request.complete(status: 0, error: InspectionRefusal.notHTTP11.rawValue, log: context.accessLog)
        end(nil)
    }

    private func end(_ reason: EndReason?) {
        if case .ended = phase, onEnd == nil { return }
        phase = .ended
        deadline.disarm()
        dial?.cancel()
        dial = nil
        dropUpstream()
        client.close()
        let handler = onEnd
        onEnd = nil
        handler?(reason)
    }
}
