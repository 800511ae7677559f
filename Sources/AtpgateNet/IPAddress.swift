/// An IPv4 or IPv6 address held as plain integers.
///
/// Integers (not byte arrays) keep the value cheap to hash, compare and mask, which the
/// policy's prefix tables do on every decision.
public enum IPAddress: Hashable, Sendable {
    /// IPv4, host byte order: 127.0.0.1 == 0x7F000001.
    case v4(UInt32)
    /// IPv6 as (high 64 bits, low 64 bits), host order.
    case v6(UInt64, UInt64)

    /// Builds an IPv4 address from exactly 4 network-order bytes.
    public init(v4Bytes: [UInt8]) {
        precondition(v4Bytes.count == 4, "IPv4 needs exactly 4 bytes")
        self = .v4(v4Bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    /// Builds an IPv6 address from exactly 16 network-order bytes.
    public init(v6Bytes: [UInt8]) {
        precondition(v6Bytes.count == 16, "IPv6 needs exactly 16 bytes")
        let high = v6Bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = v6Bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        self = .v6(high, low)
    }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6 (what sockaddr wants).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            let word = { (w: UInt64) in (0..<8).map { UInt8(truncatingIfNeeded: w >> (56 - 8 * $0)) } }
            return word(high) + word(low)
        }
    }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// Address width in bits (32 or 128); the upper bound of a prefix length.
    public var bitWidth: Int { isIPv4 ? 32 : 128 }
}

extension IPAddress: Comparable {
    /// IPv4 sorts before IPv6; within a family, numeric order. Gives stable summaries and tests.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)): return (ah, al) < (bh, bl)
        }
    }
}
