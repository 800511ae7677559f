import AtpgateNet
import Yams

/// Walks the YAML tree section by section, validating as it goes. Each section reader
/// knows its keys, so unknown keys are caught at every level.
struct PolicyBuilder {
    static let rootKeys = ["version", "listen", "clients", "allow", "deny", "networks", "hosts", "timeouts", "limits",
                           "atp", "on_reload", "pac", "tls", "inspection", "mode", "admin", "log"]
    static let tlsKeys = ["sni", "ports"]
    static let networkKeys = ["deny", "allow"]
    static let timeoutKeys = ["head", "dns", "connect", "response", "idle", "grace", "upstream_keepalive", "tunnel"]
    static let limitKeys = ["head_bytes", "upstream_keepalive_per_origin", "upstream_keepalive_total",
                            "max_connections", "max_connections_per_client"]

    let file: String
    let nodes: YAMLNodes
    /// basename(file), the prefix of every rule reference.
    let referenceName: String

    var listen = Policy.defaultListen
    var clients = Policy.defaultClients
    var timeouts = Timeouts()
    var limits = Limits()
    var allow: [Rule] = []
    var deny: [Rule] = []
    var networkDeny: [NetworkVetter.Entry] = []
    var networkAllow: [NetworkVetter.Entry] = []
    var hosts: [String: [IPAddress]] = [:]
    var onReload = ReloadMode.keep
    var atp: AtpBlock? = nil
    var expansion: AtpExpansion? = nil
    var pac: PACSettings? = nil
    var tls = TLSPeekSettings()
    var inspection: InspectionSettings? = nil
    var mode = DecisionMode.enforce
    var admin: AdminSettings? = nil
    var log = LogSettings()

    init(file: String, nodes: YAMLNodes) {
        self.file = file
        self.nodes = nodes
        self.referenceName = PathText.basename(file)
    }

    func reference(_ node: Node) -> RuleReference {
        RuleReference("\(referenceName):\(node.mark?.line ?? 0)")
    }

    func build() -> Policy {
        let sourceFiles = [file] + [expansion?.catalogPath, expansion?.serviceTagsPath].compactMap { $0 }
        let warnings = inspection.map {
            InspectionWarnings.of($0, classicSensorHosts: expansion?.sensorHosts ?? [], file: file)
        } ?? []
        return Policy(file: file, listen: listen, clients: clients, timeouts: timeouts, limits: limits,
                      allow: allow, deny: deny, networkDeny: networkDeny, networkAllow: networkAllow, hosts: hosts,
                      onReload: onReload, pin: expansion?.pin, sourceFiles: sourceFiles, pac: pac, tls: tls,
                      inspection: inspection, inspectionWarnings: warnings, mode: mode, admin: admin, log: log)
    }

    mutating func read(_ root: Node) throws(PolicyError) {
        var sawVersion = false
        // Rules and inspection.hosts may use {instance}, and `atp` may come after them; https:// rules need
        // inspection.hosts: read them all at the end, the section first.
        var ruleLists: [(Verdict, Node)] = []
        var inspectionNodes: (key: Node, value: Node)? = nil
        var adminListenNode: Node? = nil
        for (key, keyNode, value) in try nodes.mapping(root, "the policy file") {
            switch key {
            case "version": try readVersion(value); sawVersion = true
            case "listen": try readListen(value)
            case "clients": clients = try networks(value, "clients").map(\.network)
            case "allow": ruleLists.append((.allow, value))
            case "deny": ruleLists.append((.deny, value))
            case "atp": atp = try readAtp(value, key: keyNode)
            case "on_reload": onReload = try readReloadMode(value)
            case "pac": pac = try readPAC(value)
            case "networks": try readNetworks(value)
            case "hosts": try readHosts(value)
            case "timeouts": try readTimeouts(value)
            case "limits": try readLimits(value)
            case "tls": try readTLS(value)
            case "inspection": inspectionNodes = (keyNode, value)
            case "mode": mode = try readMode(value)
            case "admin":
                let read = try readAdmin(value)
                admin = read.settings
                adminListenNode = read.listenNode
            case "log": log = try readLog(value)
            default: throw nodes.unknownKey(key, keyNode, in: "the policy file", known: PolicyBuilder.rootKeys)
            }
        }
        // `listen` may come after `admin`.
        if let admin, let adminListenNode { try checkAdmin(admin, adminListenNode) }
        if let inspectionNodes { inspection = try readInspection(inspectionNodes.value, key: inspectionNodes.key) }
        for (verdict, value) in ruleLists {
            switch verdict {
            case .allow: allow = try rules(value, .allow)
            case .deny: deny = try rules(value, .deny)
            }
        }
        guard sawVersion else { throw nodes.error(root, "missing required key 'version' (must be 1)") }
        if let atp {
            let expansion = try expand(atp)
            for (parsed, reference) in expansion.rules {
                allow.append(Rule(verdict: .allow, host: parsed.host, ports: parsed.ports, form: parsed.form,
                                  reference: reference, order: allow.count))
            }
            self.expansion = expansion
        }
    }

    private mutating func readTLS(_ node: Node) throws(PolicyError) {
        for (key, keyNode, value) in try nodes.mapping(node, "tls") {
            switch key {
            case "sni":
                let text = try nodes.string(value, "tls.sni")
                guard let mode = TLSPeekSettings.SNIMode(rawValue: text) else {
                    throw nodes.error(value, "tls.sni must be enforce, log or off, got \(HostText.quoted(text))")
                }
                tls.sni = mode
            case "ports":
                guard case .sequence(let sequence) = value else {
                    throw nodes.error(value, "tls.ports must be a list of port numbers (use [] for none), got \(YAMLNodes.kind(value))")
                }
                var ports: [UInt16] = []
                for item in sequence {
                    let text = YAMLNodes.isInt(item) ? item.scalar?.string ?? "" : ""
                    guard text.utf8.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
                          let port = UInt16(text), port > 0 else {
                        throw nodes.error(item, "each entry of tls.ports must be a port number from 1 to 65535, got \(YAMLNodes.kind(item))")
                    }
                    guard !ports.contains(port) else { throw nodes.error(item, "duplicate port \(port) in tls.ports") }
                    ports.append(port)
                }
                tls.ports = ports
            default:
                throw nodes.unknownKey(key, keyNode, in: "tls", known: PolicyBuilder.tlsKeys)
            }
        }
    }

    private func readReloadMode(_ node: Node) throws(PolicyError) -> ReloadMode {
        let text = try nodes.string(node, "on_reload")
        guard let mode = ReloadMode(rawValue: text) else {
            throw nodes.error(node, "on_reload must be keep or cut-denied, got \(HostText.quoted(text))")
        }
        return mode
    }

    private func readMode(_ node: Node) throws(PolicyError) -> DecisionMode {
        let text = try nodes.string(node, "mode")
        guard let mode = DecisionMode(rawValue: text) else {
            throw nodes.error(node, "mode must be enforce or report, got \(HostText.quoted(text))")
        }
        return mode
    }

    private func readVersion(_ node: Node) throws(PolicyError) {
        guard YAMLNodes.isInt(node), node.scalar?.string == "1" else {
            throw nodes.error(node, "version must be 1, got \(YAMLNodes.kind(node))")
        }
    }

    private mutating func readListen(_ node: Node) throws(PolicyError) {
        var result: [ListenAddress] = []
        for (text, item) in try nodes.strings(node, "listen") {
            guard let address = ListenAddress(text) else {
                throw nodes.error(item, "bad listen address \(HostText.quoted(text)) (want IP:PORT or [IPv6]:PORT)")
            }
            guard !result.contains(address) else { throw nodes.error(item, "duplicate listen address \(address)") }
            result.append(address)
        }
        guard !result.isEmpty else { throw nodes.error(node, "listen must not be empty") }
        listen = result
    }

    func networks(_ node: Node, _ what: String) throws(PolicyError) -> [NetworkVetter.Entry] {
        var result: [NetworkVetter.Entry] = []
        for (text, item) in try nodes.strings(node, what) {
            guard let network = IPNetwork(text) else {
                throw nodes.error(item, "bad CIDR \(HostText.quoted(text)) in \(what)")
            }
            result.append(NetworkVetter.Entry(network: network, reference: reference(item)))
        }
        return result
    }

    /// `text` with "{instance}" replaced by `atp.instance`. Without atp.instance (allowed when only modern
    /// sensors are selected) "{instance}" stays as written, and whoever parses the text reports it.
    func expandingInstance(_ text: String) -> String {
        guard let atp, atp.instanceNode != nil, text.contains(AtpExpansion.placeholder) else { return text }
        return text.replacing(AtpExpansion.placeholder, with: atp.instance)
    }

    private func rules(_ node: Node, _ verdict: Verdict) throws(PolicyError) -> [Rule] {
        var result: [Rule] = []
        for (written, item) in try nodes.strings(node, verdict.rawValue) {
            let text = expandingInstance(written)
            let parsed: RuleParser.Parsed
            do {
                parsed = try RuleParser.parse(text, verdict: verdict, acceptingHTTPS: true)
            } catch {
                throw nodes.error(item, error.message)
            }
            if case .https = parsed.form { try checkInspected(parsed.host, rule: text, item) }
            result.append(Rule(verdict: verdict, host: parsed.host, ports: parsed.ports, form: parsed.form,
                               reference: reference(item), order: result.count))
        }
        return result
    }

    private mutating func readNetworks(_ node: Node) throws(PolicyError) {
        for (key, keyNode, value) in try nodes.mapping(node, "networks") {
            switch key {
            case "deny": networkDeny = try networks(value, "networks.deny")
            case "allow": networkAllow = try networks(value, "networks.allow")
            default: throw nodes.unknownKey(key, keyNode, in: "networks", known: PolicyBuilder.networkKeys)
            }
        }
    }

    /// `hosts:` names are normalised like client hosts, so "A.com." and "a.com" collide.
    private mutating func readHosts(_ node: Node) throws(PolicyError) {
        for (key, keyNode, value) in try nodes.mapping(node, "hosts") {
            let host: Host
            do {
                host = try Host.normalize(key)
            } catch {
                throw nodes.error(keyNode, "bad host name in hosts: \(error.reason)")
            }
            guard case .name(let name) = host else {
                throw nodes.error(keyNode, "hosts key \(HostText.quoted(key)) must be a name, not an address")
            }
            guard hosts[name] == nil else { throw nodes.error(keyNode, "duplicate host \(HostText.quoted(name)) in hosts") }
            var addresses: [IPAddress] = []
            for (text, item) in try nodes.strings(value, "hosts.\(name)") {
                guard let address = IPAddress(text) else {
                    throw nodes.error(item, "bad IP address \(HostText.quoted(text)) for host \(HostText.quoted(name))")
                }
                addresses.append(address)
            }
            guard !addresses.isEmpty else { throw nodes.error(value, "hosts.\(name) needs at least one address") }
            hosts[name] = addresses
        }
    }

    private mutating func readTimeouts(_ node: Node) throws(PolicyError) {
        for (key, keyNode, value) in try nodes.mapping(node, "timeouts") {
            guard PolicyBuilder.timeoutKeys.contains(key) else {
                throw nodes.unknownKey(key, keyNode, in: "timeouts", known: PolicyBuilder.timeoutKeys)
            }
            let text = try nodes.string(value, "timeouts.\(key)")
            guard let seconds = DurationText.seconds(text) else {
                throw nodes.error(value, "bad duration \(HostText.quoted(text)) for timeouts.\(key) (e.g. 500ms, 10s, 2m, 1h; must be > 0)")
            }
            switch key {
            case "head": timeouts.head = seconds
            case "dns": timeouts.dns = seconds
            case "connect": timeouts.connect = seconds
            case "response": timeouts.response = seconds
            case "idle": timeouts.idle = seconds
            case "upstream_keepalive": timeouts.upstreamKeepAlive = seconds
            case "tunnel": timeouts.tunnel = seconds
            default: timeouts.grace = seconds
            }
        }
    }

    private mutating func readLimits(_ node: Node) throws(PolicyError) {
        var perClientNode: Node? = nil
        for (key, keyNode, value) in try nodes.mapping(node, "limits") {
            guard PolicyBuilder.limitKeys.contains(key) else {
                throw nodes.unknownKey(key, keyNode, in: "limits", known: PolicyBuilder.limitKeys)
            }
            let text = try nodes.string(value, "limits.\(key)")
            let range: ClosedRange<Int>
            switch key {
            case "head_bytes": range = 1024...1_048_576
            case "max_connections", "max_connections_per_client": range = 1...1_000_000
            default: range = 0...65_536
            }
            guard text.utf8.count <= 8, text.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(text), range.contains(number) else {
                throw nodes.error(value, "limits.\(key) must be an integer from \(range.lowerBound) to \(range.upperBound), got \(HostText.quoted(text))")
            }
            switch key {
            case "head_bytes": limits.headBytes = number
            case "upstream_keepalive_per_origin": limits.upstreamKeepAlivePerOrigin = number
            case "max_connections": limits.maxConnections = number
            case "max_connections_per_client": limits.maxConnectionsPerClient = number; perClientNode = value
            default: limits.upstreamKeepAliveTotal = number
            }
        }
        // A per-client bound above the total is never reached: almost certainly a typo.
        if let total = limits.maxConnections, let perClient = limits.maxConnectionsPerClient, perClient > total, let perClientNode {
            throw nodes.error(perClientNode, "limits.max_connections_per_client (\(perClient)) must not exceed limits.max_connections (\(total))")
        }
    }
}
