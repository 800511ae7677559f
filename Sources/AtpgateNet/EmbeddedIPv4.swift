/// IPv6 forms that carry an IPv4 address which the network may ultimately reach. Vetting checks
/// every one of those IPv4 addresses too, or "::ffff:127.0.0.1" would walk past a 127/8 deny, and
/// the engine compares them with its own listeners, or "[::ffff:127.0.0.1]:3128" would loop the
/// proxy into itself. An address may carry two (Teredo: server and client); all are returned.
extension IPAddress {
    /// Every IPv4 address this IPv6 address embeds, in no particular order; empty for IPv4 and
    /// for IPv6 addresses of no embedding form. Deliberately wide: a reading that no host on the
    /// path takes costs at most a refusal, a reading that is missed can reach an internal host.
    public var embeddedIPv4s: [IPAddress] {
        var found: [IPAddress] = []
        forEachEmbeddedIPv4 { found.append($0) }
        return found
    }

    /// Calls `body` with each embedded IPv4 address, as `embeddedIPv4s`, without allocating.
    public func forEachEmbeddedIPv4(_ body: (IPAddress) -> Void) {
        guard case .v6(let high, let low) = self else { return }
        let last32 = UInt32(truncatingIfNeeded: low)
        let third32 = low >> 32
        if high == 0 {
            // ::ffff:a.b.c.d, IPv4-mapped (RFC 4291 §2.5.5.2): what a dual-stack socket dials as IPv4.
            if third32 == 0xFFFF { body(.v4(last32)) }
            // ::a.b.c.d, IPv4-compatible (RFC 4291 §2.5.5.1, deprecated): automatic tunnels (Linux sit)
            // still send these to the IPv4 address. No exception for :: and ::1: they embed 0.0.0.0
            // and 0.0.0.1, which the built-in ranges refuse as well.
            if third32 == 0 { body(.v4(last32)) }
            // ::ffff:0:a.b.c.d, IPv4-translated (SIIT, RFC 2765 §2.1): a stateless translator in the
            // path turns it into the IPv4 address.
            if third32 == 0xFFFF_0000 { body(.v4(last32)) }
        }
        // 64:ff9b::/96, the NAT64 well-known prefix (RFC 6052 §2.1): the NAT64 gateway connects to
        // the last 32 bits. RFC 6052 forbids other prefix lengths inside 64:ff9b::/96's /32.
        if high == 0x0064_FF9B_0000_0000 && third32 == 0 { body(.v4(last32)) }
        // 64:ff9b:1::/48, the NAT64 local-use prefix (RFC 8215): operators put a /96 inside it, so
        // the IPv4 address is the last 32 bits.
        if high >> 16 == 0x0064_FF9B_0001 { body(.v4(last32)) }
        // 2002::/16, 6to4 (RFC 3056 §2): the relay tunnels to the IPv4 address in bits 16-47.
        if high >> 48 == 0x2002 { body(.v4(UInt32(truncatingIfNeeded: high >> 16))) }
        // 2001:0::/32, Teredo (RFC 4380 §4): the client's IPv4 address (obfuscated: every bit
        // inverted) in the last 32 bits, and the server's in bits 32-63. Packets go to either.
        if high >> 32 == 0x2001_0000 {
            body(.v4(last32 ^ 0xFFFF_FFFF))
            body(.v4(UInt32(truncatingIfNeeded: high)))
        }
        // ISATAP interface identifiers (RFC 5214 §6.1): 0000:5efe:a.b.c.d, or 0200:5efe:a.b.c.d
        // with the universal/local bit set, after any /64 prefix: the ISATAP router delivers to the
        // IPv4 address. The u and g bits are ignored (mask 0xFCFF_FFFF) so no variant slips past.
        if third32 & 0xFCFF_FFFF == 0x0000_5EFE { body(.v4(last32)) }
    }

    /// The IPv4 of an IPv4-mapped IPv6 address only (what a dual-stack socket reports for
    /// an IPv4 peer); used for client checks, where the other forms are real IPv6 peers.
    public var mappedIPv4: IPAddress? {
        guard case .v6(let high, let low) = self, high == 0, low >> 32 == 0xFFFF else { return nil }
        return .v4(UInt32(truncatingIfNeeded: low))
    }
}
