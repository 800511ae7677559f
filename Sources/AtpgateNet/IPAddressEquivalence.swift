/// Comparing addresses by what they reach rather than by how they are spelt: "::ffff:127.0.0.1",
/// "::127.0.0.1" and "::ffff:0:127.0.0.1" all reach 127.0.0.1 on some path. Used where an exact
/// comparison would let a second spelling through (the proxy's own listeners).
extension IPAddress {
    /// The address itself followed by every IPv4 address it embeds (see `embeddedIPv4s`).
    public var ipv4Equivalents: [IPAddress] {
        var all = [self]
        forEachEmbeddedIPv4 { all.append($0) }
        return all
    }

    /// True when the two addresses are equal or one embeds the other. Two IPv6 addresses that
    /// only share an embedded IPv4 do not refer to each other; compare each with the IPv4.
    public func refersTo(_ other: IPAddress) -> Bool {
        if self == other { return true }
        var found = false
        forEachEmbeddedIPv4 { if $0 == other { found = true } }
        if found { return true }
        other.forEachEmbeddedIPv4 { if $0 == self { found = true } }
        return found
    }
}
