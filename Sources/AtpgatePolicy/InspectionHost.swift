import AtpgateNet

/// One entry of `inspection.hosts`: a host the proxy may terminate TLS for. Names match like allow
/// rules (exact, or `*.suffix`: one or more labels below the suffix, never the suffix itself); an IP
/// address is a legitimate inspected target too (the minted leaf then carries an IP SAN). No CIDR: a
/// leaf is minted per target, and a range would hide which targets that is.
public struct InspectedHost: Sendable, Equatable, CustomStringConvertible {
    public enum Pattern: Sendable, Hashable {
        /// A normalised name (lower case, no trailing dot).
        case exact(String)
        /// "*.suffix", holding the suffix.
        case suffix(String)
        case address(IPAddress)
    }

    public let pattern: Pattern
    /// Line of the entry in the policy file.
    public let sourceLine: Int

    public init(pattern: Pattern, sourceLine: Int) {
        self.pattern = pattern
        self.sourceLine = sourceLine
    }

    /// Whether a CONNECT target's host is this entry. An IPv4-mapped IPv6 target is not the IPv4 it
    /// carries, exactly as allow rules see it, so the two always agree.
    public func matches(_ host: Host) -> Bool {
        HostPattern(pattern).matches(host)
    }

    /// As a rule would print the host: "a.example.com", "*.example.com", "192.0.2.1", "[2001:db8::1]".
    public var description: String {
        switch pattern {
        case .exact(let name): return name
        case .suffix(let suffix): return "*." + suffix
        case .address(let address): return Host.ip(address).description
        }
    }

    /// Whether every host a rule's HOST part matches is this entry's: how a `https://` rule is checked
    /// against `inspection.hosts`, so that every CONNECT it allows is inspected (an uninspected tunnel
    /// would pass every path the rule meant to filter).
    func covers(_ rule: HostPattern) -> Bool {
        switch (pattern, rule) {
        case (.exact(let name), .exact(let ruleName)):
            return name == ruleName
        case (.suffix(let suffix), .exact(let ruleName)):
            return HostPattern.suffix(suffix).matches(.name(ruleName))
        case (.suffix(let suffix), .suffix(let ruleSuffix)):
            // The same suffix, or a deeper one: "*.a.example.com" lies inside "*.example.com".
            return ruleSuffix == suffix || HostPattern.suffix(suffix).matches(.name(ruleSuffix))
        case (.address(let address), .network(let network)):
            return network.prefixLength == network.address.bitWidth && network.address == address
        default:
            return false
        }
    }
}

extension HostPattern {
    /// The allow-rule pattern with the same meaning.
    init(_ pattern: InspectedHost.Pattern) {
        switch pattern {
        case .exact(let name): self = .exact(name)
        case .suffix(let suffix): self = .suffix(suffix)
        case .address(let address): self = .network(IPNetwork(address: address, prefixLength: address.bitWidth))
        }
    }
}
