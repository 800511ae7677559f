import AtpgateNet

/// One list of rules (all allow or all deny), indexed so a lookup costs O(labels) hash
/// probes plus the few rules sharing a bucket, not O(rules).
struct RuleTable: Sendable {
    private var exact: [String: [Rule]] = [:]
    /// Keyed by the suffix of "*.suffix"; probed with each proper suffix of the host. Substring
    /// keys let the probe use slices of the host name without allocating a String per label.
    private var suffixes: [Substring: [Rule]] = [:]
    private var networks = PrefixTable<[Rule]>()

    init(_ rules: [Rule]) {
        for rule in rules {
            switch rule.host {
            case .exact(let name): exact[name, default: []].append(rule)
            case .suffix(let suffix): suffixes[Substring(suffix), default: []].append(rule)
            case .network(let network): networks.insert(network) { $0 = ($0 ?? []) + [rule] }
            }
        }
    }

    /// The matching rule declared first, or nil. Each rule knows from its form which subjects it
    /// applies to, and from its verdict which of the path's readings it matches (`Rule.matches`).
    /// With `embedded`, an IPv6 target is also tried as every IPv4 it embeds (used for deny
    /// lists so a mapped, NAT64, 6to4, Teredo... spelling cannot dodge an IPv4 deny rule).
    func firstMatch(host: Host, port: UInt16, subject: RuleSubject, embedded: Bool = false) -> Rule? {
        var best: Rule? = nil
        // A nested function, not a closure value: no context is allocated per lookup.
        func consider(_ bucket: [Rule]) {
            for rule in bucket where rule.order < (best?.order ?? .max) && rule.matches(port: port, subject: subject) {
                best = rule
            }
        }
        switch host {
        case .name(let name):
            if let bucket = exact[name] { consider(bucket) }
            guard !suffixes.isEmpty else { break }
            var rest = Substring(name)
            // Proper suffixes only: "*.a.com" never matches "a.com".
            while let dot = rest.utf8.firstIndex(of: UInt8(ascii: ".")) {
                rest = rest[rest.utf8.index(after: dot)...]
                if let bucket = suffixes[rest] { consider(bucket) }
            }
        case .ip(let address):
            networks.forEachMatch(address) { _, bucket in consider(bucket) }
            // Only IPv6 embeds; the array (and a closure nested in a closure, which would box
            // `best` on the heap for every lookup) stays off the IPv4 and name paths.
            if embedded && !address.isIPv4 {
                for v4 in address.embeddedIPv4s { networks.forEachMatch(v4) { _, bucket in consider(bucket) } }
            }
        }
        return best
    }
}
