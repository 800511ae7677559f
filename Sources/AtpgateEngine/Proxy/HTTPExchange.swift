import AtpgatePolicy
import AtpgateHTTP
import AtpgateIO

/// One plain-HTTP request forwarded upstream and its response relayed back. Confined to the loop's queue.
///
/// The request goes out in origin form with hop-by-hop headers removed and `Via` added; with
/// `Connection: close` unless the upstream connection is meant for the keep-alive pool. Its body streams
/// by its framing.
/// The upstream's answer is read by `UpstreamResponseReader`: interim (1xx) responses in a loop, at
/// most `UpstreamResponseReader.defaultMaxInterim` of them, forwarded to HTTP/1.1 clients only;
/// `timeouts.response` runs from the request until the *final* response head (else 504), then
/// `timeouts.idle` guards the body. The final head is rewritten so that its framing fields say exactly
/// how the body is relayed (`ResponsePlan`). The client connection stays open for the next request
/// only when both messages ended cleanly and the response was not close-delimited; the upstream one may
/// go back to the pool only when the response was read to its framed end with nothing left over, the
/// server did not ask to close, and the request was sent whole (`upstreamReusable`).
final class HTTPExchange: @unchecked Sendable {
    enum Outcome {
        /// No final response went to the client yet: the connection answers with an error status.
        /// `unsentToClient` is the rest of an interim head that was being written: it goes out first.
        /// `upstreamSilent`: the upstream failed (closed, reset, refused the request's bytes) before a
        /// single response byte, so on a reused connection the request may be sent again on a new one.
        case failedBeforeResponse(ProxyFailure, bytesUp: UInt64, unsentToClient: [UInt8], upstreamSilent: Bool)
        /// A final response (complete or cut short) went to the client.
        case ended(status: Int, bytesUp: UInt64, bytesDown: UInt64, error: EndReason?, keepAlive: Bool, leftover: [UInt8],
                   upstreamReusable: Bool)
    }

    private let client: any ByteStream
    private let upstream: any ByteStream
    private let loop: IOLoop
    private let deadline: Deadline
    private let upstreamHead: [UInt8]
    private let requestFraming: Pump.Framing
    private let timeouts: Timeouts
    private let counters: LoopCounters
    private var reader: UpstreamResponseReader

    private var requestPump: Pump?
    private var responsePump: Pump?
    private var requestDone = false
    private var clientLeftover: [UInt8] = []
    private var status = 0
    private var closeAfter = false
    /// The plan allows reuse and the response body ended exactly at its framed end.
    private var upstreamReusable = false
    private var sawResponseBytes = false
    /// Set by an upstream failure before any response byte (see `Outcome.failedBeforeResponse`).
    private var upstreamSilent = false
    /// Interim heads for the client that the socket has not taken yet; while any wait, the upstream is
    /// not read (back-pressure).
    private var interimOut: [UInt8] = []
    private var finished = false
    private var onDone: ((Outcome) -> Void)?

    init(client: any ByteStream, upstream: any ByteStream, loop: IOLoop, deadline: Deadline, head: HTTPRequestHead,
         host: String, port: UInt16?, path: String, framing: Pump.Framing, timeouts: Timeouts, headLimit: Int,
         keepUpstream: Bool, counters: LoopCounters) {
        self.counters = counters
        self.client = client
        self.upstream = upstream
        self.loop = loop
        self.deadline = deadline
        self.requestFraming = framing
        self.timeouts = timeouts
        self.upstreamHead = HeadRewriter.upstreamRequest(head, host: host, port: port, path: path, keepAlive: keepUpstream)
        self.reader = UpstreamResponseReader(requestMethod: head.method, clientVersion: head.version,
                                             clientKeepAlive: head.keepAlive, headLimit: headLimit)
    }

    func start(leftover: [UInt8], onDone: @escaping (Outcome) -> Void) {
        self.onDone = onDone
        let pump = Pump(from: client, to: upstream, loop: loop, framing: requestFraming, counters: counters, direction: .up)
        requestPump = pump
        pump.onEnd = { [self] end in requestEnded(end) }
        // Runs until the final response head, whatever interim responses arrive meanwhile.
        deadline.arm(after: timeouts.response) { [self] in
            guard responsePump == nil else { return }
            failBeforeResponse(.responseTimeout(seconds: timeouts.response))
        }
        upstream.setReadHandler { [self] in readResponseHead() }
        pump.start(prime: upstreamHead, initial: leftover)
    }

    /// Ends the exchange without reporting (the connection is being closed).
    func abort() {
        guard !finished else { return }
        finished = true
        onDone = nil
        requestPump?.stop()
        responsePump?.stop()
        upstream.close()
    }

    private var bytesUp: UInt64 { requestPump?.bytes ?? 0 }
    private var bytesDown: UInt64 { responsePump?.bytes ?? 0 }

    // MARK: Request body

    private func requestEnded(_ end: Pump.End) {
        switch end {
        case .complete(let leftover):
            requestDone = true
            clientLeftover = leftover
            checkDone()
        case .sourceClosed:
            requestDone = true
            checkDone()
        case .failed(.source, let failure):
            // The client broke off or sent a body that does not match its framing.
            if responsePump != nil {
                finish(error: .broke(.client, reset: failure.isReset), keepAlive: false)
            } else {
                failBeforeResponse(.badRequest("request body: \(failure)"))
            }
        case .failed(.sink, let failure):
            if responsePump != nil {
                finish(error: .broke(.upstream, reset: failure.isReset), keepAlive: false)
            } else {
                upstreamSilent = !sawResponseBytes
                failBeforeResponse(.upstreamFailed("upstream failed while receiving the request: \(failure)"))
            }
        }
    }

    // MARK: Response head

    /// Reads until the socket would block, the final head is complete, or interim heads wait for the
    /// client (handlers must drain: see Pump.readable). Iterative: no input makes it recurse.
    private func readResponseHead() {
        while !finished && responsePump == nil && interimOut.isEmpty {
            let count: Int
            do {
                guard let n = try upstream.read(into: loop.scratch) else { return }
                count = n
            } catch {
                upstreamSilent = !sawResponseBytes
                failBeforeResponse(.upstreamFailed("upstream failed before responding: \(error)"))
                return
            }
            if count == 0 {
                upstreamSilent = !sawResponseBytes
                failBeforeResponse(.upstreamFailed("upstream closed the connection without responding"))
                return
            }
            sawResponseBytes = true
            reader.append(UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
            processResponseBytes()
        }
    }

    /// Handles every complete head read so far: interim heads are queued for the client, the final one
    /// starts the body relay.
    private func processResponseBytes() {
        while !finished {
            let event: UpstreamResponseReader.Event
            do {
                event = try reader.next()
            } catch {
                failBeforeResponse(.upstreamFailed(error.message))
                return
            }
            switch event {
            case .needMore:
                return
            case .interim(_, let forward):
                if let forward { sendInterim(forward) }
            case .final(let plan, let body):
                forwardFinal(plan, body: body)
                return
            }
        }
    }

    /// Writes an interim head to the client now, or queues it and stops reading the upstream until the
    /// client has taken it.
    private func sendInterim(_ bytes: [UInt8]) {
        if interimOut.isEmpty {
            switch writeToClient(bytes) {
            case .failure(let error):
                finish(error: .broke(.client, error), keepAlive: false)
                return
            case .success(let written):
                if written == bytes.count { return }
                interimOut = Array(bytes[written...])
            }
        } else {
            interimOut += bytes
        }
        upstream.pauseReading()
        client.awaitWritable { [self] in flushInterim() }
    }

    private func flushInterim() {
        guard !finished else { return }
        switch writeToClient(interimOut) {
        case .failure(let error):
            finish(error: .broke(.client, error), keepAlive: false)
            return
        case .success(let written):
            interimOut.removeFirst(written)
        }
        guard interimOut.isEmpty else { return }
        client.stopAwaitingWritable()
        upstream.resumeReading()
        processResponseBytes()
        readResponseHead()
    }

    /// Writes as much of `bytes` as the client takes now: how many it took, or the socket's error.
    private func writeToClient(_ bytes: [UInt8]) -> Result<Int, SocketError> {
        var offset = 0
        while offset < bytes.count {
            let step = bytes.withUnsafeBytes { raw in
                Result { () throws(SocketError) in try client.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            switch step {
            case .success(let n?): offset += n
            case .success(nil): return .success(offset)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(offset)
    }

    private func forwardFinal(_ plan: ResponsePlan, body: [UInt8]) {
        status = plan.status
        closeAfter = plan.closeAfter
        upstreamReusable = plan.upstreamReusable
        let pumpFraming: Pump.Framing
        switch plan.relay {
        case .none: pumpFraming = .length(0)
        case .length(let length): pumpFraming = .length(length)
        case .chunked: pumpFraming = .chunked
        case .dechunk: pumpFraming = .dechunk
        case .untilClose: pumpFraming = .stream
        }
        // A still-unsent interim head goes out before the final one, through the pump's own buffer.
        let prime = interimOut.isEmpty ? plan.head : interimOut + plan.head
        interimOut = []
        client.stopAwaitingWritable()
        upstream.pauseReading()
        let pump = Pump(from: upstream, to: client, loop: loop, framing: pumpFraming, counters: counters, direction: .down)
        responsePump = pump
        pump.onEnd = { [self] end in responseEnded(end) }
        armIdle()
        pump.start(prime: prime, initial: body)
    }

    private func responseEnded(_ end: Pump.End) {
        switch end {
        case .complete(let leftover):
            // Bytes past the framed end are not ours to relay and make the connection's state unknown.
            if !leftover.isEmpty { upstreamReusable = false }
            checkDone()
        case .sourceClosed:
            upstreamReusable = false
            checkDone()
        case .failed(.source, let failure):
            finish(error: .broke(.upstream, reset: failure.isReset), keepAlive: false)
        case .failed(.sink, let failure):
            finish(error: .broke(.client, reset: failure.isReset), keepAlive: false)
        }
    }

    private func checkDone() {
        guard let responsePump, responsePump.isFinished else { return }
        if !requestDone {
            // The upstream answered before the request body was read: neither connection can be reused.
            requestPump?.stop()
            upstreamReusable = false
            finish(error: nil, keepAlive: false)
            return
        }
        finish(error: nil, keepAlive: !closeAfter)
    }

    private func armIdle() {
        deadline.arm(after: timeouts.idle) { [self] in
            let last = max(requestPump?.lastActivity ?? 0, responsePump?.lastActivity ?? 0)
            let idleFor = Double(monotonicNanos() &- last) / 1e9
            if idleFor >= timeouts.idle {
                finish(error: .idleTimeout, keepAlive: false)
            } else {
                deadline.rearm(after: timeouts.idle - idleFor)
            }
        }
    }

    // MARK: End

    private func failBeforeResponse(_ failure: ProxyFailure) {
        end(.failedBeforeResponse(failure, bytesUp: bytesUp, unsentToClient: interimOut, upstreamSilent: upstreamSilent))
    }

    private func finish(error: EndReason?, keepAlive: Bool) {
        end(.ended(status: status, bytesUp: bytesUp, bytesDown: bytesDown, error: error, keepAlive: keepAlive,
                   leftover: clientLeftover, upstreamReusable: error == nil && upstreamReusable))
    }

    private func end(_ outcome: Outcome) {
        guard !finished else { return }
        finished = true
        requestPump?.stop()
        responsePump?.stop()
        if !interimOut.isEmpty { client.stopAwaitingWritable() }
        deadline.disarm()
        let handler = onDone
        onDone = nil
        handler?(outcome)
    }
}
