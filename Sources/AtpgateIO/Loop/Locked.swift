#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex, for state shared across queues and threads.
///
/// Why not Swift's `Mutex`: on Linux it locks with raw futex calls that ThreadSanitizer cannot
/// see, so every access it guards is reported as a race, which hides the real ones. A pthread
/// mutex is understood by the sanitizers and costs the same when uncontended.
public final class Locked<Value>: @unchecked Sendable {
    @usableFromInline var stored: Value                        // guarded by `mutex`
    @usableFromInline let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init(_ value: Value) {
        stored = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&stored)
    }

    @inlinable
    public var value: Value { withLock { $0 } }
}
