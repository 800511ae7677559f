import Dispatch

/// A connection's deadline (head, dns, connect, response, idle). It does not depend on any socket
/// source, so a lost epoll registration (libdispatch issue #833) still ends in a timeout rather
/// than a stuck connection. Deadlines are entries in their loop's `LoopTimers`, not Dispatch timer
/// sources of their own: every timer source created, scheduled or cancelled is a round trip to
/// libdispatch's manager thread, which the benchmark's profile showed costing more per tunnel than
/// the proxy's own code. Confined to the loop's queue.
public final class Deadline: @unchecked Sendable {
    fileprivate let timers: LoopTimers
    fileprivate var handler: (() -> Void)?
    fileprivate var fireAt: UInt64 = .max
    fileprivate var heapIndex = -1

    public init(loop: IOLoop) {
        timers = loop.timers
    }

    /// Arms the deadline `seconds` from now (replacing any earlier arming).
    public func arm(after seconds: Double, _ handler: @escaping () -> Void) {
        self.handler = handler
        rearm(after: seconds)
    }

    /// Re-arms with the current handler.
    public func rearm(after seconds: Double) {
        timers.schedule(self, at: monotonicNanos() &+ UInt64(max(0, seconds) * 1e9))
    }

    public func disarm() {
        handler = nil
        timers.remove(self)
    }

    /// Same as disarm; kept apart so call sites say whether the owner is finished with it.
    public func cancel() {
        disarm()
    }
}

/// The deadlines of one loop in a binary min-heap, driven by one Dispatch timer that is only
/// rescheduled when the earliest deadline moves. Confined to the loop's queue.
final class LoopTimers: @unchecked Sendable {
    private let queue: DispatchQueue
    private let timer: DispatchSourceTimer
    private var heap: [Deadline] = []
    private var scheduledAt: UInt64 = .max

    init(queue: DispatchQueue) {
        self.queue = queue
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .distantFuture)
        timer.setEventHandler { [weak self] in self?.fire() }
        timer.resume()
    }

    deinit {
        timer.cancel()
    }

    fileprivate func schedule(_ deadline: Deadline, at time: UInt64) {
        if deadline.heapIndex >= 0 {
            let old = deadline.fireAt
            deadline.fireAt = time
            if time < old { siftUp(deadline.heapIndex) } else { siftDown(deadline.heapIndex) }
        } else {
            deadline.fireAt = time
            deadline.heapIndex = heap.count
            heap.append(deadline)
            siftUp(heap.count - 1)
        }
        armTimer()
    }

    fileprivate func remove(_ deadline: Deadline) {
        let index = deadline.heapIndex
        guard index >= 0 else { return }
        let last = heap.count - 1
        if index != last {
            swapAt(index, last)
        }
        heap.removeLast()
        deadline.heapIndex = -1
        if index < heap.count {
            siftDown(index)
            siftUp(index)
        }
        // The timer is left as it is: firing early with nothing due costs one wake-up.
    }

    private func fire() {
        scheduledAt = .max
        let now = monotonicNanos()
        while let first = heap.first, first.fireAt <= now {
            remove(first)
            let handler = first.handler
            handler?()   // may re-arm this or other deadlines
        }
        armTimer()
    }

    /// Points the Dispatch timer at the earliest deadline, if that moved earlier (or it was idle).
    private func armTimer() {
        guard let first = heap.first, first.fireAt < scheduledAt else { return }
        scheduledAt = first.fireAt
        let now = monotonicNanos()
        let delay = first.fireAt > now ? first.fireAt - now : 0
        timer.schedule(deadline: .now() + .nanoseconds(Int(min(delay, UInt64(Int.max)))), leeway: .milliseconds(5))
    }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].fireAt < heap[parent].fireAt else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].fireAt < heap[smallest].fireAt { smallest = left }
            if right < heap.count && heap[right].fireAt < heap[smallest].fireAt { smallest = right }
            guard smallest != parent else { return }
            swapAt(parent, smallest)
            parent = smallest
        }
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].heapIndex = a
        heap[b].heapIndex = b
    }
}

/// Monotonic now in nanoseconds (cheap: one clock_gettime).
@inlinable @inline(__always)
public func monotonicNanos() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds
}
