import AtpgateIO
import AtpgateTLS

/// The inspection material in force (nil when the policy in force does not inspect), swapped by the
/// reloader together with the policy, and the cache of minted leaves, emptied when the CA changes.
public final class InspectionStore: Sendable {
    private let current: Locked<InspectionMaterial?>
    let leaves: LeafCache

    init(_ material: InspectionMaterial?, leafCapacity: Int = 1024) {
        current = Locked(material)
        leaves = LeafCache(capacity: leafCapacity)
    }

    var material: InspectionMaterial? {
        current.withLock { $0 }
    }

    /// Puts `material` in force; leaves signed by another CA are dropped.
    func replace(with material: InspectionMaterial?) {
        let previous = current.withLock { value -> InspectionMaterial? in
            let old = value
            value = material
            return old
        }
        if previous?.ca.identity != material?.ca.identity {
            leaves.removeAll()
        }
    }
}
