import AtpgateNet

/// The host part of an effective allow rule, for consumers that route rather than decide
/// (the PAC file, the WinINET bypass check). Ports and paths are left out: they route alike.
public enum AllowedHost: Hashable, Sendable {
    case exact(String)
    /// "*.suffix": one or more labels below `suffix`, never `suffix` itself.
    case suffix(String)
    case network(IPNetwork)
}

extension Policy {
    /// The host patterns of every effective allow rule (the policy's own and those the `atp`
    /// block expands to), in rule order, each once. Deny rules are not subtracted: a denied
    /// host inside an allowed pattern still belongs at the proxy, which refuses and logs it.
    public var allowedHostPatterns: [AllowedHost] {
        var seen = Set<AllowedHost>()
        var result: [AllowedHost] = []
        for rule in allowRules {
            let pattern: AllowedHost
            switch rule.host {
            case .exact(let name): pattern = .exact(name)
            case .suffix(let suffix): pattern = .suffix(suffix)
            case .network(let network): pattern = .network(network)
            }
            if seen.insert(pattern).inserted { result.append(pattern) }
        }
        return result
    }
}
