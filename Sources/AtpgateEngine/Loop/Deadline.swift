import Dispatch

/// A connection's one timer. It does not depend on any socket source, so a lost epoll
/// registration (libdispatch issue #833) still ends in a timeout rather than a stuck connection.
/// Confined to the loop's queue.
final class Deadline: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private var handler: (() -> Void)?
    private var cancelled = false

    init(loop: IOLoop) {
        timer = DispatchSource.makeTimerSource(queue: loop.queue)
        timer.schedule(deadline: .distantFuture)
        timer.setEventHandler { [weak self] in
            guard let self, !self.cancelled else { return }
            self.handler?()
        }
        timer.resume()
    }

    /// Arms the timer `seconds` from now (replacing any earlier arming).
    func arm(after seconds: Double, _ handler: @escaping () -> Void) {
        guard !cancelled else { return }
        self.handler = handler
        timer.schedule(deadline: .now() + .nanoseconds(Int(max(0, seconds) * 1e9)), leeway: .milliseconds(10))
    }

    /// Re-arms with the current handler.
    func rearm(after seconds: Double) {
        guard !cancelled else { return }
        timer.schedule(deadline: .now() + .nanoseconds(Int(max(0, seconds) * 1e9)), leeway: .milliseconds(10))
    }

    /// Forgets the handler without touching the timer: re-scheduling costs a round trip to
    /// libdispatch's manager thread, and a timer that fires with no handler does nothing.
    func disarm() {
        handler = nil
    }

    func cancel() {
        guard !cancelled else { return }
        cancelled = true
        handler = nil
        timer.cancel()
    }
}

/// Monotonic now in nanoseconds (cheap: one clock_gettime).
@inline(__always)
func monotonicNanos() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds
}
