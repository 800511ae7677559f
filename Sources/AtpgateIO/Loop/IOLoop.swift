import Dispatch

/// One serial queue that runs sockets, relays and timers, plus the scratch buffer its handlers
/// copy through. libdispatch sees a fixed handful of sources per loop (its epoll set, its timer),
/// whatever the number of connections. Every connection lives on exactly one loop for its whole life.
public final class IOLoop: @unchecked Sendable {
    public let queue: DispatchQueue

    /// Shared by every connection on this loop. Guarded by `queue`: only used synchronously inside
    /// one handler, never held across events.
    public let scratch: UnsafeMutableRawBufferPointer

    /// Every deadline of every connection on this loop, on one Dispatch timer.
    let timers: LoopTimers

    /// The readiness of every socket on this loop: one epoll set under one Dispatch source.
    let pollSet: PollSet

    public static let scratchSize = 64 * 1024

    init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
        timers = LoopTimers(queue: queue)
        pollSet = PollSet(queue: queue)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.scratchSize, alignment: 16)
    }

    deinit {
        scratch.deallocate()
    }

    public func assertOnQueue() {
        #if DEBUG
        dispatchPrecondition(condition: .onQueue(queue))
        #endif
    }
}

/// A small pool of loops, one per core. Each has its own listener per address (SO_REUSEPORT), so
/// the kernel spreads connections over them.
public final class IOLoopGroup: Sendable {
    public let loops: [IOLoop]

    public init(count: Int) {
        loops = (0..<max(1, count)).map { IOLoop(label: "atpgate.io.\($0)") }
    }
}
