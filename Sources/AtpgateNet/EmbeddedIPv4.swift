/// IPv6 forms that carry an IPv4 address which the network will ultimately reach.
/// Vetting checks that IPv4 too, or "::ffff:127.0.0.1" would walk past a 127/8 deny.
extension IPAddress {
    /// The IPv4 inside ::ffff:0:0/96 (mapped), 64:ff9b::/96 (NAT64), 2002::/16 (6to4,
    /// bits 16..47) or 2001::/32 (Teredo client, last 32 bits inverted); nil otherwise.
    public var embeddedIPv4: IPAddress? {
        guard case .v6(let high, let low) = self else { return nil }
        let last32 = UInt32(truncatingIfNeeded: low)
        if high == 0 && low >> 32 == 0xFFFF { return .v4(last32) }
        if high == 0x0064_FF9B_0000_0000 && low >> 32 == 0 { return .v4(last32) }
        if high >> 48 == 0x2002 { return .v4(UInt32(truncatingIfNeeded: high >> 16)) }
        if high >> 32 == 0x2001_0000 { return .v4(last32 ^ 0xFFFF_FFFF) }
        return nil
    }

    /// The IPv4 of an IPv4-mapped IPv6 address only (what a dual-stack socket reports for
    /// an IPv4 peer); used for client checks, where the other forms are real IPv6 peers.
    public var mappedIPv4: IPAddress? {
        guard case .v6(let high, let low) = self, high == 0, low >> 32 == 0xFFFF else { return nil }
        return .v4(UInt32(truncatingIfNeeded: low))
    }
}
