import AtpgateNet

/// One endpoint a sensor reaches through the proxy, as `atpgate doctor` checks it: an allow rule's host
/// and one of its ports, with what kind of ATP endpoint it is and whether the sensor speaks TLS to it.
/// Read-only views of the compiled policy; nothing here changes a decision.
public struct AtpEndpoint: Sendable, Hashable {
    /// What the endpoint is for; the raw value is what the doctor's table prints.
    public enum Kind: String, Sendable, Hashable {
        /// A classic (v2.x) sensor API host: the instance's own or a service location's. Serves the ping.
        case classicSensor = "sensor"
        /// A modern (v3.x) sensor host (Defender for Endpoint's domain), usually a wildcard.
        case modernSensor = "modern"
        case console
        /// A certificate revocation endpoint (plain HTTP).
        case crl
        /// One of the policy's own allow rules (a policy without an `atp` block).
        case other = "rule"
    }

    /// The host part of the rule.
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        case name(String)
        case address(IPAddress)
        /// "*.suffix": no single name to look up, so not checkable by name.
        case wildcard(String)
        /// An address range wider than one address.
        case network(IPNetwork)

        public var description: String {
            switch self {
            case .name(let name): return name
            case .address(let address): return address.isIPv4 ? address.description : "[\(address)]"
            case .wildcard(let suffix): return "*." + suffix
            case .network(let network): return network.address.isIPv4 ? network.description : "[\(network)]"
            }
        }
    }

    public let target: Target
    /// nil when the rule allows more ports than are worth trying one by one (a range or `*`).
    public let port: UInt16?
    /// The rule's ports as it prints them ("443", "8000-8080", "*").
    public let ports: String
    public let kind: Kind
    /// The sensor speaks TLS here: port 443 or an `https://` rule. `http://` rules and other ports are plain.
    public let isHTTPS: Bool
    /// The references of the allow rules behind it ("atp-service-locations.yaml:4 via atpgate.yaml:2"); more
    /// than one when several rules allow the same host and port (the two CRL paths of www.microsoft.com).
    public let references: [String]
    /// A deny rule that refuses this endpoint whatever the allow rules say (the incident switch), or nil.
    public let deniedBy: String?

    /// "host:port" as the table shows it.
    public var display: String { "\(target):\(port.map(String.init) ?? ports)" }

    /// Why no connection can be tried, or nil when one can.
    public var notCheckable: String? {
        switch target {
        case .wildcard: return "wildcard (no single name)"
        case .network: return "address range"
        case .name, .address: return port == nil ? "port range \(ports)" : nil
        }
    }
}

extension Policy {
    /// Whether the policy has an `atp` block: its expanded rules are referenced "catalog:LINE via POLICY:LINE",
    /// which no rule written in the policy itself is.
    public var hasAtpBlock: Bool {
        allowRules.contains { $0.reference.text.contains(Self.viaMarker) }
    }

    /// The endpoints the `atp` block allows (classic sensor host, console, location hosts, modern hosts, CRL),
    /// in rule order, each host and port once; empty without an `atp` block. The kinds come from the catalog
    /// lines the rule references name, so the catalog is read again here (the policy keeps only its rules);
    /// if it cannot be read any more, wildcards count as modern hosts, plain-HTTP rules as CRL, names whose
    /// first label ends in "sensorapi" (Microsoft's naming of sensor API hosts) as classic sensors, the rest
    /// as `other`.
    public var atpEndpoints: [AtpEndpoint] {
        let atpRules = allowRules.filter { $0.reference.text.contains(Self.viaMarker) }
        guard !atpRules.isEmpty else { return [] }
        let catalogName = atpRules[0].reference.text.prefix { $0 != ":" }
        let catalog = sourceFiles.dropFirst().first { PathText.basename($0) == catalogName }
            .flatMap { try? ServiceLocationCatalog.load(path: $0) }
        return endpoints(of: atpRules) { rule in Self.kind(of: rule, in: catalog) }
    }

    /// The policy's own allow rules as endpoints (kind `other`): what `doctor` checks without an `atp` block.
    public var ruleEndpoints: [AtpEndpoint] {
        endpoints(of: allowRules.filter { !$0.reference.text.contains(Self.viaMarker) }) { _ in .other }
    }

    private static let viaMarker = " via "
    /// A rule with no more ports than this becomes one endpoint per port; wider ones are not tried.
    private static let portsTriedOneByOne = 4

    private func endpoints(of rules: [Rule], kind: (Rule) -> AtpEndpoint.Kind) -> [AtpEndpoint] {
        var result: [AtpEndpoint] = []
        var index: [EndpointKey: Int] = [:]
        for rule in rules {
            let target = Self.target(of: rule.host)
            for port in Self.ports(of: rule.ports) {
                let isHTTPS: Bool
                switch rule.form {
                case .https: isHTTPS = true
                case .http: isHTTPS = false
                case .target: isHTTPS = port == 443
                }
                let key = EndpointKey(target: target, port: port, isHTTPS: isHTTPS)
                if let existing = index[key] {
                    let old = result[existing]
                    result[existing] = AtpEndpoint(target: old.target, port: old.port, ports: old.ports, kind: old.kind,
                                                   isHTTPS: old.isHTTPS, references: old.references + [rule.reference.text],
                                                   deniedBy: old.deniedBy)
                    continue
                }
                index[key] = result.count
                result.append(AtpEndpoint(target: target, port: port, ports: port.map(String.init) ?? rule.ports.description,
                                          kind: kind(rule), isHTTPS: isHTTPS, references: [rule.reference.text],
                                          deniedBy: denial(of: target, port: port)))
            }
        }
        return result
    }

    private struct EndpointKey: Hashable {
        let target: AtpEndpoint.Target
        let port: UInt16?
        let isHTTPS: Bool
    }

    /// A deny rule written as HOST:PORTS that matches the endpoint: it refuses the CONNECT (and every
    /// plain-HTTP request) however the allow rules read. Path rules deny only some requests, so they are
    /// not counted; wildcards and ranges have no single host to test.
    private func denial(of target: AtpEndpoint.Target, port: UInt16?) -> String? {
        let host: Host
        switch target {
        case .name(let name): host = .name(name)
        case .address(let address): host = .ip(address)
        case .wildcard, .network: return nil
        }
        guard let port else { return nil }
        return denyRules.first { $0.form == .target && $0.ports.contains(port) && $0.host.matches(host) }?.reference.text
    }

    private static func target(of pattern: HostPattern) -> AtpEndpoint.Target {
        switch pattern {
        case .exact(let name): return .name(name)
        case .suffix(let suffix): return .wildcard(suffix)
        case .network(let network):
            return network.prefixLength == network.address.bitWidth ? .address(network.address) : .network(network)
        }
    }

    /// Each port of a small set, or one nil for a range or `*`.
    private static func ports(of set: PortSet) -> [UInt16?] {
        let count = set.ranges.reduce(0) { $0 + Int($1.upperBound) - Int($1.lowerBound) + 1 }
        guard !set.isAny, count <= portsTriedOneByOne else { return [nil] }
        return set.ranges.flatMap { range in range.map { Optional($0) } }
    }

    /// The kind the catalog line of an expanded rule names. Lines are positions in one file, so a line
    /// names one entry unless the catalog puts several on one line (a flow mapping): then the shape of the
    /// rule and the sensor template decide.
    private static func kind(of rule: Rule, in catalog: ServiceLocationCatalog?) -> AtpEndpoint.Kind {
        let isWildcard: Bool
        if case .suffix = rule.host { isWildcard = true } else { isWildcard = false }
        let isPlain = rule.form.isPlainHTTP || !rule.ports.contains(443)
        guard let catalog, let line = catalogLine(of: rule) else {
            if isWildcard { return .modernSensor }
            if isPlain { return .crl }
            if case .exact(let name) = rule.host, name.prefix(while: { $0 != "." }).hasSuffix("sensorapi") { return .classicSensor }
            return .other
        }
        var kinds: [AtpEndpoint.Kind] = []
        for cloud in catalog.clouds {
            if cloud.sensorLine == line, case .exact(let name) = rule.host, matches(name, template: cloud.sensor) {
                kinds.append(.classicSensor)
            }
            if cloud.consoleLine == line { kinds.append(.console) }
            if cloud.modernLines.contains(line) { kinds.append(.modernSensor) }
        }
        if catalog.locations.contains(where: { $0.hostLines.contains(line) }) { kinds.append(.classicSensor) }
        if catalog.crlRules.contains(where: { $0.line == line }) { kinds.append(.crl) }
        if kinds.count > 1 {
            if isWildcard, kinds.contains(.modernSensor) { return .modernSensor }
            if isPlain, kinds.contains(.crl) { return .crl }
        }
        return kinds.first ?? .other
    }

    /// LINE of "catalog.yaml:LINE via policy.yaml:LINE".
    private static func catalogLine(of rule: Rule) -> Int? {
        let text = rule.reference.text
        guard let via = text.range(of: viaMarker), let colon = text[..<via.lowerBound].lastIndex(of: ":") else { return nil }
        return Int(text[text.index(after: colon)..<via.lowerBound])
    }

    /// Whether `name` is `template` with some instance in place of "{instance}".
    private static func matches(_ name: String, template: String) -> Bool {
        guard let placeholder = template.range(of: AtpExpansion.placeholder) else { return name == template }
        let prefix = template[..<placeholder.lowerBound], suffix = template[placeholder.upperBound...]
        return name.count > prefix.count + suffix.count && name.hasPrefix(prefix) && name.hasSuffix(suffix)
    }
}
