import AtpgateIO

/// A CONNECT tunnel: two pumps, client -> upstream ("up") and upstream -> client ("down").
///
/// End of stream in one direction becomes shutdown(SHUT_WR) toward the other side (half-close);
/// the tunnel ends when both directions are done, on an error in either (a reset propagates as
/// a close of both sides), or when nothing moved for `idle` seconds. Confined to the loop's queue.
final class Tunnel: @unchecked Sendable {
    let up: Pump
    let down: Pump
    private let client: any ByteStream
    private let upstream: any ByteStream
    private let idleTimeout: Double
    private let deadline: Deadline
    private var directionsDone = 0
    private var ended = false
    private var onClose: ((_ reason: EndReason?) -> Void)?

    init(client: any ByteStream, upstream: any ByteStream, loop: IOLoop, deadline: Deadline, idleTimeout: Double,
         counters: LoopCounters) {
        self.client = client
        self.upstream = upstream
        self.deadline = deadline
        self.idleTimeout = idleTimeout
        up = Pump(from: client, to: upstream, loop: loop, framing: .stream, counters: counters, direction: .up, spliceAllowed: true, halfCloseOnEnd: true)
        down = Pump(from: upstream, to: client, loop: loop, framing: .stream, counters: counters, direction: .down, spliceAllowed: true, halfCloseOnEnd: true)
    }

    /// Takes charge of the two channels before the relay starts (while the connection sends the 200):
    /// from here on `close(reason:)` and the idle timer end the tunnel through `onClose`.
    func prepare(onClose: @escaping (_ reason: EndReason?) -> Void) {
        self.onClose = onClose
        armIdle()
    }

    /// Starts relaying (the connection has sent the 200): `pipelined` (bytes the client
    /// sent right behind the CONNECT head, e.g. a TLS ClientHello) to the upstream.
    func start(pipelined: [UInt8]) {
        guard !ended else { return }
        // up moves client -> upstream, down moves upstream -> client: a pump's side names the peer.
        up.onEnd = { [self] end in directionEnded(end, source: .client, sink: .upstream) }
        down.onEnd = { [self] end in directionEnded(end, source: .upstream, sink: .client) }
        down.start()
        // Written to the upstream now, in this turn of the queue, rather than handed back to the client's
        // stream to be read again on the next one: the peek's cost per short tunnel (docs/benchmarks.md).
        if !ended { up.start(initial: pipelined) }
    }

    var bytesUp: UInt64 { up.bytes }
    var bytesDown: UInt64 { down.bytes }

    /// Ends the tunnel now (shutdown, policy cut). `reason` is logged as the error.
    func close(reason: EndReason) {
        end(error: reason)
    }

    private func directionEnded(_ end: Pump.End, source: Peer, sink: Peer) {
        switch end {
        case .sourceClosed, .complete:
            directionsDone += 1
            if directionsDone == 2 { self.end(error: nil) }
        case .failed(let side, let failure):
            // A reset on one side: reset the other too rather than pretend an orderly end.
            upstream.resetOnClose()
            client.resetOnClose()
            self.end(error: .broke(side == .source ? source : sink, reset: failure.isReset))
        }
    }

    /// The idle check runs on the connection's timer, not on socket sources.
    private func armIdle() {
        deadline.arm(after: idleTimeout) { [self] in
            let last = max(up.lastActivity, down.lastActivity)
            let idleFor = Double(monotonicNanos() &- last) / 1e9
            if idleFor >= idleTimeout {
                end(error: .idleTimeout)
            } else {
                deadline.rearm(after: idleTimeout - idleFor)
            }
        }
    }

    private func end(error: EndReason?) {
        guard !ended else { return }
        ended = true
        up.stop()
        down.stop()
        deadline.disarm()
        let handler = onClose
        onClose = nil
        handler?(error)
    }
}
