import AtpgateNet

/// `atp.pin` compiled: the sensor API hosts and the prefixes they may be dialled at. A
/// poisoned resolver or hosts file can then send sensor traffic nowhere but Microsoft's
/// published ranges for the service.
struct ServiceTagPin: Sendable {
    /// Normalised names of the pinned hosts (sensor host and location hosts).
    let hosts: Set<String>
    let prefixes: [IPNetwork]
    /// "pin:AzureAdvancedThreatProtection (ServiceTags_Public.json)".
    let reference: RuleReference
    private let table: PrefixTable<Bool>

    init(hosts: Set<String>, prefixes: [IPNetwork], tag: String, file: String) {
        self.hosts = hosts
        self.prefixes = prefixes
        self.reference = RuleReference("pin:\(tag) (\(PathText.basename(file)))")
        var table = PrefixTable<Bool>()
        for network in prefixes { table.insert(network) { $0 = true } }
        self.table = table
    }

    /// Whether `address` is inside the tag. An IPv4-mapped IPv6 address is the IPv4 it
    /// carries (a dual-stack socket dials exactly that); other embeddings (NAT64, 6to4,
    /// Teredo) travel through gateways outside the tag and stay refused.
    func admits(_ address: IPAddress) -> Bool {
        var inside = false
        table.forEachMatch(address.mappedIPv4 ?? address) { _, _ in inside = true }
        return inside
    }
}
