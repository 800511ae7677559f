import AtpgateNet
import Yams

/// Turns an `atp:` block into allow rules using the service-location catalog, and the
/// optional pin into a ServiceTagPin. Every expanded rule's reference names both files,
/// "atp-service-locations.yaml:7 via atpgate.yaml:5", so a log line leads to the catalog
/// entry that produced the host and to the policy line that selected it.
struct AtpExpansion {
    static let placeholder = "{instance}"
    static let allLocations = "all"

    /// Allow rules to append after the policy's own, in this order: classic sensor host,
    /// console, location hosts, modern sensor hosts, CRL rules.
    var rules: [(RuleParser.Parsed, RuleReference)] = []
    /// The classic sensor host and the location hosts: the hosts a pin applies to. Never the
    /// modern hosts: Defender for Endpoint's domain is outside the AzureAdvancedThreatProtection
    /// service tag, so pinning them to it would refuse every v3.x sensor connection.
    var sensorHosts: Set<String> = []
    let catalogPath: String
    var serviceTagsPath: String? = nil
    var pin: ServiceTagPin? = nil

    init(catalogPath: String) {
        self.catalogPath = catalogPath
    }
}

extension PolicyBuilder {
    func expand(_ block: AtpBlock) throws(PolicyError) -> AtpExpansion {
        let folder = PathText.directory(of: file)
        var expansion = AtpExpansion(catalogPath: PathText.resolve(block.catalog ?? ServiceLocationCatalog.defaultFileName,
                                                                   relativeTo: folder))
        let catalog = try loadCatalog(expansion.catalogPath, at: block.catalogNode ?? block.keyNode)
        let catalogName = PathText.basename(expansion.catalogPath)
        let reference = { (catalogLine: Int, via: Node) in
            RuleReference("\(catalogName):\(catalogLine) via \(referenceName):\(via.mark?.line ?? 0)")
        }
        guard let cloud = catalog.cloud(named: block.cloud) else {
            throw nodes.error(block.cloudNode ?? block.keyNode,
                              "cloud \(block.cloud) is not in catalog \(catalogName) (it has: \(catalog.clouds.map(\.name).joined(separator: ", ")))")
        }
        if block.includesClassic {
            let sensor = try instanceHost(cloud.sensor, block, "sensor")
            expansion.rules.append((.host(sensor), reference(cloud.sensorLine, block.keyNode)))
            expansion.sensorHosts.insert(sensor)
        }
        // The console is the customer's portal host, not a sensor's: it follows atp.console
        // whichever generations are selected.
        if block.console, let console = cloud.console, let line = cloud.consoleLine {
            guard block.instanceNode != nil else {
                throw nodes.error(block.consoleNode ?? block.node,
                                  "the console host \(HostText.quoted(console)) needs atp.instance (set it, or atp.console: false)")
            }
            expansion.rules.append((.host(try instanceHost(console, block, "console")), reference(line, block.keyNode)))
        }
        for (location, via) in try selectedLocations(block, in: catalog, cloud: cloud.name) {
            for (host, line) in zip(location.hosts, location.hostLines) {
                expansion.rules.append((.host(host), reference(line, via)))
                expansion.sensorHosts.insert(host)
            }
        }
        if let via = block.modernEntry {
            guard !cloud.modern.isEmpty else {
                throw nodes.error(via, "cloud \(cloud.name) has no modern sensor hosts in catalog \(catalogName) "
                                     + "(add clouds.\(cloud.name).modern there)")
            }
            for (pattern, line) in zip(cloud.modernPatterns, cloud.modernLines) {
                expansion.rules.append((RuleParser.Parsed(host: pattern, ports: .single(443), path: nil), reference(line, via)))
            }
        }
        if block.crl {
            expansion.rules += catalog.crlRules.map { ($0.parsed, reference($0.line, block.keyNode)) }
        }
        if let pin = block.pin {
            let path = PathText.resolve(pin.serviceTags, relativeTo: folder)
            let prefixes: [IPNetwork]
            do {
                prefixes = try ServiceTags.prefixes(path: path, tag: pin.tag)
            } catch {
                throw nodes.error(pin.node, error.message)
            }
            expansion.serviceTagsPath = path
            expansion.pin = ServiceTagPin(hosts: expansion.sensorHosts, prefixes: prefixes, tag: pin.tag, file: path)
        }
        return expansion
    }

    /// An unreadable catalog is reported at the policy node that named it (or the `atp` key
    /// for the default); a catalog that reads but is wrong reports its own position.
    private func loadCatalog(_ path: String, at node: Node) throws(PolicyError) -> ServiceLocationCatalog {
        switch FileText.utf8(path) {
        case .success(let text):
            return try ServiceLocationCatalog.parse(yaml: text, file: path)
        case .failure(.unreadable(let reason)):
            throw nodes.error(node, "cannot read catalog file \(HostText.quoted(path, limit: PathText.shownLimit)): \(reason)")
        case .failure(.notUTF8):
            throw nodes.error(node, "catalog file \(HostText.quoted(path, limit: PathText.shownLimit)) is not valid UTF-8")
        }
    }

    /// A cloud template with the instance filled in. Valid templates can still overflow
    /// a label with a long instance, which is the instance's fault, so it is reported there.
    private func instanceHost(_ template: String, _ block: AtpBlock, _ what: String) throws(PolicyError) -> String {
        let text = template.replacing(AtpExpansion.placeholder, with: block.instance)
        let node = block.instanceNode ?? block.keyNode
        let host: Host
        do {
            host = try Host.normalize(text)
        } catch {
            throw nodes.error(node, "atp.instance makes a bad \(what) host: \(error.reason)")
        }
        guard case .name(let name) = host else {
            throw nodes.error(node, "atp.instance makes the \(what) host \(HostText.quoted(text)) an address")
        }
        return name
    }

    /// The locations named in `atp.locations`, each with the node that selected it.
    /// Names match case-insensitively; `[all]` selects every location of the cloud.
    private func selectedLocations(_ block: AtpBlock, in catalog: ServiceLocationCatalog,
                                   cloud: String) throws(PolicyError) -> [(ServiceLocationCatalog.Location, Node)] {
        let available = catalog.locations(in: cloud)
        let known = "known for \(cloud): " + (available.isEmpty ? "none" : available.map(\.name).joined(separator: ", "))
        var selected: [(ServiceLocationCatalog.Location, Node)] = []
        for (name, node) in block.locations {
            let lower = name.lowercased()
            if lower == AtpExpansion.allLocations {
                guard block.locations.count == 1 else {
                    throw nodes.error(node, "'all' must be the only entry of atp.locations")
                }
                return available.map { ($0, node) }
            }
            guard let location = available.first(where: { $0.name.lowercased() == lower }) else {
                if let other = catalog.locations.first(where: { $0.name.lowercased() == lower }) {
                    throw nodes.error(node, "location \(HostText.quoted(other.name)) belongs to cloud \(other.cloud), not \(cloud) (\(known))")
                }
                throw nodes.error(node, "unknown location \(HostText.quoted(name)) (\(known))")
            }
            guard !selected.contains(where: { $0.0.name == location.name }) else {
                throw nodes.error(node, "duplicate location \(HostText.quoted(location.name)) in atp.locations")
            }
            selected.append((location, node))
        }
        return selected
    }
}

extension RuleParser.Parsed {
    /// An exact-name rule at port 443: how every catalog host is allowed.
    static func host(_ name: String) -> RuleParser.Parsed {
        RuleParser.Parsed(host: .exact(name), ports: .single(443), path: nil)
    }
}
