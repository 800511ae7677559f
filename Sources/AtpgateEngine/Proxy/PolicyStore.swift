import AtpgatePolicy
import AtpgateIO

/// The policy in force. Readers take a snapshot per request; a reload (compiled off the I/O
/// queues) swaps it atomically, so established tunnels keep the policy they were decided under.
public final class PolicyStore: Sendable {
    private let current: Locked<Policy>

    public init(_ policy: Policy) {
        current = Locked(policy)
    }

    public var policy: Policy {
        current.withLock { $0 }
    }

    public func replace(with policy: Policy) {
        current.withLock { $0 = policy }
    }
}
