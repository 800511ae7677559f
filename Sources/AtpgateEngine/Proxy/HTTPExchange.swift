import AtpgatePolicy
import AtpgateHTTP

/// One plain-HTTP request forwarded upstream and its response relayed back. Confined to the loop's queue.
///
/// The request goes out in origin form with hop-by-hop headers removed, `Via` added and
/// `Connection: close` (one upstream connection per request); its body streams by its framing.
/// The response head must start within `timeouts.response` (else 504); it is rewritten the same
/// way and its body streams by the response's framing. The client connection stays open for the
/// next request only when both messages ended cleanly and the response was not close-delimited.
final class HTTPExchange: @unchecked Sendable {
    enum Outcome {
        /// Nothing was sent to the client yet: the connection answers with an error status.
        case failedBeforeResponse(ProxyFailure, bytesUp: UInt64)
        /// A response (complete or cut short) went to the client.
        case ended(status: Int, bytesUp: UInt64, bytesDown: UInt64, error: String?, keepAlive: Bool, leftover: [UInt8])
    }

    private let client: SocketChannel
    private let upstream: SocketChannel
    private let loop: IOLoop
    private let deadline: Deadline
    private let head: HTTPRequestHead
    private let upstreamHead: [UInt8]
    private let requestFraming: Pump.Framing
    private let timeouts: Timeouts
    private let statistics: ProxyStatistics
    private var responseScanner: HeadScanner
    private var responseBuffer: [UInt8] = []

    private var requestPump: Pump?
    private var responsePump: Pump?
    private var requestDone = false
    private var clientLeftover: [UInt8] = []
    private var status = 0
    private var closeAfter = false
    private var responseStarted = false
    private var waitingForInterim = false
    private var finished = false
    private var onDone: ((Outcome) -> Void)?

    init(client: SocketChannel, upstream: SocketChannel, loop: IOLoop, deadline: Deadline, head: HTTPRequestHead,
         host: String, port: UInt16?, path: String, framing: Pump.Framing, timeouts: Timeouts, headLimit: Int,
         statistics: ProxyStatistics) {
        self.statistics = statistics
        self.client = client
        self.upstream = upstream
        self.loop = loop
        self.deadline = deadline
        self.head = head
        self.requestFraming = framing
        self.timeouts = timeouts
        self.upstreamHead = HeadRewriter.upstreamRequest(head, host: host, port: port, path: path)
        self.responseScanner = HeadScanner(limit: headLimit)
    }

    func start(leftover: [UInt8], onDone: @escaping (Outcome) -> Void) {
        self.onDone = onDone
        let pump = Pump(from: client, to: upstream, loop: loop, framing: requestFraming, statistics: statistics)
        requestPump = pump
        pump.onEnd = { [self] end in requestEnded(end) }
        deadline.arm(after: timeouts.response) { [self] in
            guard !responseStarted else { return }
            end(.failedBeforeResponse(.responseTimeout(seconds: timeouts.response), bytesUp: requestPump?.bytes ?? 0))
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
        case .failed(.source, let message):
            // The client broke off or sent a body that does not match its framing.
            if responseStarted {
                finish(error: "client-failed", keepAlive: false)
            } else {
                self.end(.failedBeforeResponse(.badRequest("request body: \(message)"), bytesUp: bytesUp))
            }
        case .failed(.sink, let message):
            if responseStarted {
                finish(error: "upstream-failed", keepAlive: false)
            } else {
                self.end(.failedBeforeResponse(.upstreamFailed("upstream failed while receiving the request: \(message)"),
                                               bytesUp: bytesUp))
            }
        }
    }

    // MARK: Response head

    /// Reads until the socket would block or the head is complete (handlers must drain: see Pump.readable).
    private func readResponseHead() {
        while !finished && responsePump == nil && !waitingForInterim {
            let count: Int
            do {
                guard let n = try upstream.socket.read(into: loop.scratch) else { return }
                count = n
            } catch {
                end(.failedBeforeResponse(.upstreamFailed("upstream failed before responding: \(error)"), bytesUp: bytesUp))
                return
            }
            if count == 0 {
                end(.failedBeforeResponse(.upstreamFailed("upstream closed the connection without responding"), bytesUp: bytesUp))
                return
            }
            responseBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
            processResponseBuffer()
        }
    }

    private func processResponseBuffer() {
        let headLength: Int?
        do {
            headLength = try responseBuffer.withUnsafeBytes { bytes throws(HTTPHeadError) in try responseScanner.scan(bytes) }
        } catch {
            end(.failedBeforeResponse(.upstreamFailed("upstream response head too large"), bytesUp: bytesUp))
            return
        }
        guard let headLength else { return }
        let parsed = responseBuffer.withUnsafeBytes { bytes in
            Result { () throws(HTTPHeadError) in
                try HTTPResponseHead.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<headLength]))
            }
        }
        let response: HTTPResponseHead
        switch parsed {
        case .success(let head):
            response = head
        case .failure(let error):
            end(.failedBeforeResponse(.upstreamFailed("invalid upstream response: \(ProxyConnection.reason(error))"),
                                      bytesUp: bytesUp))
            return
        }
        let rest = Array(responseBuffer[headLength...])
        responseBuffer = []
        upstream.pauseReading()
        if response.status == 101 {
            end(.failedBeforeResponse(.upstreamFailed("upstream switched protocols although no upgrade was forwarded"),
                                      bytesUp: bytesUp))
            return
        }
        if (100...199).contains(response.status) {
            forwardInterim(response, rest: rest)
            return
        }
        forwardFinal(response, rest: rest)
    }

    /// 100 Continue and friends go to the client as they are; then the real response follows.
    private func forwardInterim(_ response: HTTPResponseHead, rest: [UInt8]) {
        responseStarted = true
        waitingForInterim = true
        let bytes = HeadRewriter.clientResponse(response, close: false, clientVersion: head.version)
        let pump = Pump(from: upstream, to: client, loop: loop, framing: .length(0), statistics: statistics)
        pump.onEnd = { [self] end in
            guard case .complete = end else {
                finish(error: "client-failed", keepAlive: false)
                return
            }
            waitingForInterim = false
            responseScanner = HeadScanner(limit: responseScanner.limit)
            responseBuffer = rest
            upstream.setReadHandler { [self] in readResponseHead() }
            if !responseBuffer.isEmpty { processResponseBuffer() }
            readResponseHead()
        }
        pump.start(prime: bytes)
    }

    private func forwardFinal(_ response: HTTPResponseHead, rest: [UInt8]) {
        var response = response
        responseStarted = true
        status = response.status
        let framing: BodyFraming
        do {
            framing = try response.bodyFraming(requestMethod: head.method)
        } catch {
            end(.failedBeforeResponse(.upstreamFailed("invalid upstream response framing: \(ProxyConnection.reason(error))"),
                                      bytesUp: bytesUp))
            return
        }
        let pumpFraming: Pump.Framing
        switch framing {
        case .none: pumpFraming = .length(0)
        case .contentLength(let length): pumpFraming = .length(length)
        case .chunked where head.version.minor == 0:
            // An HTTP/1.0 client cannot read chunked coding: send the data delimited by close.
            pumpFraming = .dechunk
            response.headers.removeAll { $0.hasName("Transfer-Encoding") }
            closeAfter = true
        case .chunked: pumpFraming = .chunked
        case .untilClose: pumpFraming = .stream
        }
        if case .untilClose = framing { closeAfter = true }
        if !head.keepAlive { closeAfter = true }
        let bytes = HeadRewriter.clientResponse(response, close: closeAfter, clientVersion: head.version)
        let pump = Pump(from: upstream, to: client, loop: loop, framing: pumpFraming, statistics: statistics)
        responsePump = pump
        pump.onEnd = { [self] end in responseEnded(end) }
        armIdle()
        pump.start(prime: bytes, initial: rest)
    }

    private func responseEnded(_ end: Pump.End) {
        switch end {
        case .complete, .sourceClosed:
            checkDone()
        case .failed(.source, _):
            finish(error: "upstream-failed", keepAlive: false)
        case .failed(.sink, _):
            finish(error: "client-failed", keepAlive: false)
        }
    }

    private func checkDone() {
        guard let responsePump, responsePump.isFinished else { return }
        if !requestDone {
            // The upstream answered before the request body was read: the connection cannot be reused.
            requestPump?.stop()
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
                finish(error: "idle-timeout", keepAlive: false)
            } else {
                deadline.rearm(after: timeouts.idle - idleFor)
            }
        }
    }

    // MARK: End

    private func finish(error: String?, keepAlive: Bool) {
        end(.ended(status: status, bytesUp: bytesUp, bytesDown: bytesDown, error: error, keepAlive: keepAlive,
                   leftover: clientLeftover))
    }

    private func end(_ outcome: Outcome) {
        guard !finished else { return }
        finished = true
        requestPump?.stop()
        responsePump?.stop()
        deadline.disarm()
        let handler = onDone
        onDone = nil
        handler?(outcome)
    }
}
