/// A CIDR block. The address is always masked, so two spellings of one block are equal
/// and can key a hash table.
public struct IPNetwork: Hashable, Sendable {
    public let address: IPAddress
    public let prefixLength: Int

    /// Masks `address` to `prefixLength` (which must be 0...32 or 0...128).
    public init(address: IPAddress, prefixLength: Int) {
        precondition((0...address.bitWidth).contains(prefixLength), "prefix length out of range")
        self.address = IPNetwork.mask(address, prefixLength)
        self.prefixLength = prefixLength
    }

    /// "10.0.0.0/8", "fc00::/7", or a bare address (/32 or /128). Host bits are masked off.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        var length = address.bitWidth
        if parts.count == 2 {
            let digits = parts[1].utf8
            guard (1...3).contains(digits.count), digits.allSatisfy(IPAddress.isDigit),
                  digits.count == 1 || digits.first != UInt8(ascii: "0"),
                  let value = Int(parts[1]), value <= address.bitWidth else { return nil }
            length = value
        }
        self.init(address: address, prefixLength: length)
    }

    /// False across families: an IPv4 block never contains an IPv6 address (embedded
    /// forms are the vetting layer's business).
    public func contains(_ other: IPAddress) -> Bool {
        guard other.isIPv4 == address.isIPv4 else { return false }
        return IPNetwork.mask(other, prefixLength) == address
    }

    /// Clears every bit after the first `length` bits.
    public static func mask(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(length == 0 ? 0 : value & (UInt32.max << (32 - length)))
        case .v6(let high, let low):
            let highMask: UInt64 = length >= 64 ? .max : (length == 0 ? 0 : .max << (64 - length))
            let lowMask: UInt64 = length >= 128 ? .max : (length <= 64 ? 0 : .max << (128 - length))
            return .v6(high & highMask, low & lowMask)
        }
    }
}

extension IPNetwork: CustomStringConvertible {
    public var description: String { "\(address)/\(prefixLength)" }
}
