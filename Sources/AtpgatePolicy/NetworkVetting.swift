import AtpgateNet

/// Address vetting just before connect: keeps the proxy from reaching internal,
/// loopback, link-local and other special ranges whatever a name resolves to.
/// Precedence: networks.deny > networks.allow > built-in ranges.
struct NetworkVetter: Sendable {
    static let builtinRanges = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
        "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    ].map { IPNetwork($0)! }

    /// A networks.* entry with its declaration order, so the first listed one is named.
    struct Entry: Sendable {
        let network: IPNetwork
        let reference: RuleReference
    }

    private let deny: PrefixTable<Entry>
    private let allow: PrefixTable<Entry>
    private let builtin: PrefixTable<Entry>

    init(deny: [Entry], allow: [Entry]) {
        self.deny = NetworkVetter.table(deny)
        self.allow = NetworkVetter.table(allow)
        self.builtin = NetworkVetter.table(NetworkVetter.builtinRanges.map {
            Entry(network: $0, reference: RuleReference("builtin:\($0)"))
        })
    }

    /// Keeps the first entry for duplicate networks.
    private static func table(_ entries: [Entry]) -> PrefixTable<Entry> {
        var table = PrefixTable<Entry>()
        for entry in entries { table.insert(entry.network) { if $0 == nil { $0 = entry } } }
        return table
    }

    /// The rule denying `address` itself or any IPv4 address it embeds (mapped, compatible, SIIT,
    /// NAT64, 6to4, both Teredo halves, ISATAP); nil when every reading is allowed.
    ///
    /// One exception: an exact address (/128) in networks.allow is the operator naming that very
    /// address, so its embedded readings answer only to networks.deny, not to the built-in ranges.
    /// Without it "networks.allow: [::1/128]" could never reach ::1, which embeds 0.0.0.1. A wider
    /// IPv6 carve-out does not pin the embedded bits, so it lets no internal IPv4 through.
    func denial(of address: IPAddress) -> RuleReference? {
        if let rule = ownDenial(of: address) { return rule }
        let named = address.isIPv4 ? false : allowedExactly(address)
        var denied: RuleReference? = nil
        address.forEachEmbeddedIPv4 { v4 in
            guard denied == nil else { return }
            denied = named ? longestMatch(deny, v4) : ownDenial(of: v4)
        }
        return denied
    }

    private func allowedExactly(_ address: IPAddress) -> Bool {
        var exact = false
        allow.forEachMatch(address) { network, _ in if network.prefixLength == address.bitWidth { exact = true } }
        return exact
    }

    private func ownDenial(of address: IPAddress) -> RuleReference? {
        if let rule = longestMatch(deny, address) { return rule }
        if longestMatch(allow, address) != nil { return nil }
        return longestMatch(builtin, address)
    }

    private func longestMatch(_ table: PrefixTable<Entry>, _ address: IPAddress) -> RuleReference? {
        var found: RuleReference? = nil
        table.forEachMatch(address) { _, entry in if found == nil { found = entry.reference } }
        return found
    }
}
