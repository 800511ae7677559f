#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO

/// Dials the vetted addresses one after another: a timeout per attempt, a cap on the total.
struct DirectDialer: Dialer {
    func dial(_ request: DialRequest, on loop: IOLoop,
              completion: @escaping (Result<DialedConnection, DialError>) -> Void) -> DialAttempt {
        let attempt = DirectDialAttempt(request: request, loop: loop, completion: completion)
        attempt.start()
        return attempt
    }
}

/// State of one dial; confined to `loop.queue`.
final class DirectDialAttempt: DialAttempt, @unchecked Sendable {
    private let request: DialRequest
    private let loop: IOLoop
    private var completion: ((Result<DialedConnection, DialError>) -> Void)?
    private var index = 0
    private var current: SocketChannel?
    private var currentAddress: SocketAddress?
    /// Created only when a connect has to be waited for: loopback and nearby peers usually connect
    /// at once, and every timer source costs libdispatch's manager thread work.
    private var attemptTimer: Deadline?
    private var totalTimer: Deadline?
    private let started = monotonicNanos()
    private var lastError = "no address to dial"
    private var sawTimeout = false

    init(request: DialRequest, loop: IOLoop, completion: @escaping (Result<DialedConnection, DialError>) -> Void) {
        self.request = request
        self.loop = loop
        self.completion = completion
    }

    func start() {
        tryNext()
    }

    func cancel() {
        abandonCurrent()
        completion = nil
        attemptTimer?.cancel()
        totalTimer?.cancel()
    }

    /// Arms the total cap (once, counted from the start of the dial) and the attempt timer.
    private func armTimers(for address: SocketAddress) {
        if totalTimer == nil {
            let timer = Deadline(loop: loop)
            let elapsed = Double(monotonicNanos() &- started) / 1e9
            timer.arm(after: request.totalTimeout - elapsed) { [self] in
                abandonCurrent()
                finish(.failure(.timeout))
            }
            totalTimer = timer
        }
        let attempt = attemptTimer ?? Deadline(loop: loop)
        attemptTimer = attempt
        attempt.arm(after: request.attemptTimeout) { [self] in
            sawTimeout = true
            lastError = "connect \(address): timed out"
            abandonCurrent()
            tryNext()
        }
    }

    private func tryNext() {
        guard completion != nil else { return }
        guard index < request.addresses.count else {
            finish(.failure(sawTimeout ? .timeout : .refused(lastError)))
            return
        }
        let address = request.addresses[index]
        index += 1
        let socket: Socket
        do {
            socket = try Socket.makeTCP(family: address.family)
        } catch {
            lastError = error.description
            tryNext()
            return
        }
        socket.setNoDelay()
        let connected: Bool
        do {
            connected = try socket.startConnect(to: address)
        } catch {
            socket.close()
            lastError = error.description
            tryNext()
            return
        }
        currentAddress = address
        // Loopback and nearby peers usually finish the handshake at once: check before waiting in the
        // poll set. A poll that says connected needs no SO_ERROR read (`connectProgress`).
        switch connected ? .connected : socket.connectProgress {
        case .connected:
            succeed(socket: socket, channel: nil)
            return
        case .failed(let error):
            failed(socket: socket, channel: nil, error: error)
            return
        case .inProgress:
            break
        }
        let channel = SocketChannel(socket: socket, loop: loop)
        current = channel
        armTimers(for: address)
        channel.awaitWritable { [self] in
            guard let channel = current else { return }
            channel.stopAwaitingWritable()
            attemptTimer?.disarm()
            settle(socket: channel.socket, channel: channel)
        }
    }

    /// The connect finished one way or the other (reported by the poll set); SO_ERROR tells which.
    private func settle(socket: Socket, channel: SocketChannel?) {
        let error = socket.pendingError
        if error == 0 {
            succeed(socket: socket, channel: channel)
        } else {
            failed(socket: socket, channel: channel, error: error)
        }
    }

    private func succeed(socket: Socket, channel: SocketChannel?) {
        guard let address = currentAddress else { return }
        // The channel (already in the poll set when the connect was waited for) moves to the connection.
        current = nil
        finish(.success(DialedConnection(channel: channel ?? SocketChannel(socket: socket, loop: loop),
                                         address: address)))
    }

    private func failed(socket: Socket, channel: SocketChannel?, error: Int32) {
        guard let address = currentAddress else { return }
        lastError = "connect \(address): \(String(cString: strerror(error)))"
        if error == ETIMEDOUT { sawTimeout = true }
        if let channel { current = nil; channel.close() } else { socket.close() }
        tryNext()
    }

    private func abandonCurrent() {
        current?.close()
        current = nil
        attemptTimer?.disarm()
    }

    private func finish(_ result: Result<DialedConnection, DialError>) {
        attemptTimer?.cancel()
        totalTimer?.cancel()
        guard let completion else {
            if case .success(let connection) = result { connection.channel.close() }
            return
        }
        self.completion = nil
        completion(result)
    }
}
