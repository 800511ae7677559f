import AtpgateNet
import Yams

/// Walks the catalog's YAML tree. Same strictness as the policy: unknown keys, bad host
/// names (and over-wide modern wildcards), duplicate or reserved location names and
/// locations of an undeclared cloud are errors at the offending node, because a catalog typo silently widens or narrows
/// every policy that uses it.
struct CatalogReader {
    static let rootKeys = ["version", "clouds", "locations", "crl"]
    static let cloudKeys = ["sensor", "console", "modern"]
    static let locationKeys = ["name", "cloud", "hosts"]
    /// A label that fits every template check; real instances are checked again on expansion.
    static let sampleInstance = "instance"

    let nodes: YAMLNodes
    var clouds: [ServiceLocationCatalog.Cloud] = []
    var locations: [ServiceLocationCatalog.Location] = []
    var crl: [ServiceLocationCatalog.CRLRule] = []

    init(nodes: YAMLNodes) {
        self.nodes = nodes
    }

    mutating func read(_ root: Node) throws(PolicyError) {
        var sawVersion = false
        var locationsNode: Node? = nil
        for (key, keyNode, value) in try nodes.mapping(root, "the catalog") {
            switch key {
            case "version":
                guard YAMLNodes.isInt(value), value.scalar?.string == "1" else {
                    throw nodes.error(value, "version must be 1, got \(YAMLNodes.kind(value))")
                }
                sawVersion = true
            case "clouds": try readClouds(value)
            case "locations": locationsNode = value
            case "crl": try readCRL(value)
            default: throw nodes.unknownKey(key, keyNode, in: "the catalog", known: CatalogReader.rootKeys)
            }
        }
        guard sawVersion else { throw nodes.error(root, "missing required key 'version' (must be 1)") }
        // Locations name their cloud, which may be declared further down the file.
        if let locationsNode { try readLocations(locationsNode) }
    }

    private mutating func readClouds(_ node: Node) throws(PolicyError) {
        for (name, keyNode, value) in try nodes.mapping(node, "clouds") {
            guard AtpCloud.names.contains(name) else {
                throw nodes.unknownKey(name, keyNode, in: "clouds", known: AtpCloud.names)
            }
            var sensor: (String, Int)? = nil
            var console: (String, Int)? = nil
            var modern: [(String, HostPattern, Int)] = []
            for (key, fieldKey, field) in try nodes.mapping(value, "clouds.\(name)") {
                switch key {
                case "sensor": sensor = (try template(field, "clouds.\(name).sensor"), field.mark?.line ?? 0)
                case "console": console = (try template(field, "clouds.\(name).console"), field.mark?.line ?? 0)
                case "modern": modern = try modernHosts(field, "clouds.\(name).modern")
                default: throw nodes.unknownKey(key, fieldKey, in: "clouds.\(name)", known: CatalogReader.cloudKeys)
                }
            }
            guard let sensor else { throw nodes.error(value, "clouds.\(name) needs 'sensor'") }
            clouds.append(ServiceLocationCatalog.Cloud(name: name, sensor: sensor.0, console: console?.0,
                                                       modern: modern.map(\.0), line: keyNode.mark?.line ?? 0,
                                                       sensorLine: sensor.1, consoleLine: console?.1,
                                                       modernPatterns: modern.map(\.1), modernLines: modern.map(\.2)))
        }
    }

    /// The modern sensor hosts of a cloud: exact names or "*.suffix" (one or more labels below
    /// the suffix, never the suffix itself), each allowed at port 443. They are the same for
    /// every instance, so "{instance}" is refused, and a wildcard needs at least two labels
    /// after "*." so a slip cannot open a whole top-level domain.
    private func modernHosts(_ node: Node, _ what: String) throws(PolicyError) -> [(String, HostPattern, Int)] {
        var result: [(String, HostPattern, Int)] = []
        for (written, item) in try nodes.strings(node, what) {
            let text = written.lowercased()
            guard !text.contains(AtpExpansion.placeholder) else {
                throw nodes.error(item, "\(what) must not use {instance}: modern sensor hosts are the same for every instance")
            }
            let isWildcard = text.hasPrefix("*.")
            guard case .name(let name) = try hostName(isWildcard ? String(text.dropFirst(2)) : text, item, what) else {
                throw nodes.error(item, "\(what) entry \(HostText.quoted(written)) must be a name or *.name, not an address")
            }
            if isWildcard && !name.contains(".") {
                throw nodes.error(item, "\(what) entry \(HostText.quoted(written)) is too wide (a wildcard needs at least two labels after '*.')")
            }
            let shown = isWildcard ? "*." + name : name
            guard !result.contains(where: { $0.0 == shown }) else {
                throw nodes.error(item, "duplicate \(HostText.quoted(shown)) in \(what)")
            }
            result.append((shown, isWildcard ? .suffix(name) : .exact(name), item.mark?.line ?? 0))
        }
        guard !result.isEmpty else { throw nodes.error(node, "\(what) needs at least one host (or leave the key out)") }
        return result
    }

    /// A host template: a name once "{instance}" is filled in. Kept as written (lower-cased)
    /// so listings show the placeholder.
    private func template(_ node: Node, _ what: String) throws(PolicyError) -> String {
        let text = try nodes.string(node, what).lowercased()
        let sample = text.replacing(AtpExpansion.placeholder, with: CatalogReader.sampleInstance)
        guard case .name = try hostName(sample, node, what) else {
            throw nodes.error(node, "\(what) must be a host name, not an address")
        }
        return text
    }

    private func hostName(_ text: String, _ node: Node, _ what: String) throws(PolicyError) -> Host {
        do {
            return try Host.normalize(text)
        } catch {
            throw nodes.error(node, "bad host name in \(what): \(error.reason)")
        }
    }

    private mutating func readLocations(_ node: Node) throws(PolicyError) {
        guard case .sequence(let items) = node else {
            throw nodes.error(node, "locations must be a list, got \(YAMLNodes.kind(node))")
        }
        for item in items {
            var name: (String, Node)? = nil
            var cloud: (String, Node)? = nil
            var hosts: [(String, Int)] = []
            var sawHosts = false
            for (key, keyNode, value) in try nodes.mapping(item, "each entry of locations") {
                switch key {
                case "name": name = (try nodes.string(value, "locations.name"), value)
                case "cloud": cloud = (try nodes.string(value, "locations.cloud"), value)
                case "hosts":
                    sawHosts = true
                    for (text, hostNode) in try nodes.strings(value, "locations.hosts") {
                        guard case .name(let host) = try hostName(text, hostNode, "locations.hosts") else {
                            throw nodes.error(hostNode, "locations.hosts entry \(HostText.quoted(text)) must be a name, not an address")
                        }
                        hosts.append((host, hostNode.mark?.line ?? 0))
                    }
                    guard !hosts.isEmpty else { throw nodes.error(value, "locations.hosts needs at least one host") }
                default: throw nodes.unknownKey(key, keyNode, in: "locations", known: CatalogReader.locationKeys)
                }
            }
            guard let name else { throw nodes.error(item, "each entry of locations needs 'name'") }
            guard let cloud else { throw nodes.error(item, "location \(HostText.quoted(name.0)) needs 'cloud'") }
            guard sawHosts else { throw nodes.error(item, "location \(HostText.quoted(name.0)) needs 'hosts'") }
            try checkName(name.0, name.1, cloud: cloud.0)
            guard clouds.contains(where: { $0.name == cloud.0 }) else {
                let known = clouds.map(\.name).joined(separator: ", ")
                throw nodes.error(cloud.1, "unknown cloud \(HostText.quoted(cloud.0)) in location \(HostText.quoted(name.0)) (known: \(known.isEmpty ? "none" : known))")
            }
            locations.append(ServiceLocationCatalog.Location(name: name.0, cloud: cloud.0, hosts: hosts.map(\.0),
                                                             line: item.mark?.line ?? 0, hostLines: hosts.map(\.1)))
        }
    }

    /// Policies select locations by name, case-insensitively, and "all" selects every one.
    private func checkName(_ name: String, _ node: Node, cloud: String) throws(PolicyError) {
        guard !name.isEmpty, name == name.trimmed, !name.contains(",") else {
            throw nodes.error(node, "bad location name \(HostText.quoted(name)) (no leading or trailing spaces, no commas)")
        }
        guard name.lowercased() != AtpExpansion.allLocations else {
            throw nodes.error(node, "location name 'all' is reserved (policies use [all] to select every location)")
        }
        if locations.contains(where: { $0.cloud == cloud && $0.name.lowercased() == name.lowercased() }) {
            throw nodes.error(node, "duplicate location \(HostText.quoted(name)) in cloud \(cloud)")
        }
    }

    private mutating func readCRL(_ node: Node) throws(PolicyError) {
        for (text, item) in try nodes.strings(node, "crl") {
            do {
                crl.append(ServiceLocationCatalog.CRLRule(text: text, parsed: try RuleParser.parse(text, verdict: .allow),
                                                          line: item.mark?.line ?? 0))
            } catch {
                throw nodes.error(item, error.message)
            }
        }
    }
}

extension String {
    /// Without leading and trailing whitespace (no Foundation in this module).
    var trimmed: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
