import Synchronization

/// A lock-free counter shared across queues (connection ids, round-robin, statistics).
final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    init() {}

    /// Returns the value before the increment.
    @discardableResult
    func increment(by delta: Int = 1) -> Int {
        value.wrappingAdd(delta, ordering: .relaxed).oldValue
    }

    func decrement() {
        value.wrappingSubtract(1, ordering: .relaxed)
    }

    var current: Int { value.load(ordering: .relaxed) }
}
