import AtpgateNet
import Yams

/// Reads the `inspection:` section into `InspectionSettings`, as strictly as the rest of the policy:
/// unknown keys, a missing `ca`, a host that is no host, a pin that is no SHA-256, a `default` mapping
/// before others, and settings that contradict each other are errors at the offending node. Certificate
/// and key files are named, never opened (the engine loads them).
extension PolicyBuilder {
    static let inspectionKeys = ["hosts", "ca", "clients", "upstream"]
    static let inspectionCAKeys = ["cert", "key"]
    static let inspectionClientKeys = ["ca", "pins", "require"]
    static let inspectionUpstreamKeys = ["trust", "client_certs"]
    static let inspectionClientCertKeys = ["match", "cert", "key"]
    static let inspectionMatchKeys = ["subject_cn", "san", "sha256"]

    /// Called once the whole file is read: `{instance}` in `hosts` needs `atp.instance`, wherever `atp` is written.
    func readInspection(_ node: Node, key: Node) throws(PolicyError) -> InspectionSettings {
        var hosts: [InspectedHost]? = nil
        var ca: InspectionSettings.KeyPair? = nil
        var clients: (settings: InspectionSettings.ClientVerification, node: Node, requireNode: Node?)? = nil
        var upstream = InspectionSettings.Upstream()
        for (field, fieldKey, value) in try nodes.mapping(node, "inspection") {
            switch field {
            case "hosts": hosts = try inspectedHosts(value)
            case "ca": ca = try keyPair(value, "inspection.ca", keys: PolicyBuilder.inspectionCAKeys)
            case "clients": clients = try clientVerification(value)
            case "upstream": upstream = try upstreamSettings(value)
            default: throw nodes.unknownKey(field, fieldKey, in: "inspection", known: PolicyBuilder.inspectionKeys)
            }
        }
        guard let hosts else {
            throw nodes.error(node, "inspection needs 'hosts' (the hosts whose TLS the proxy may inspect)")
        }
        guard let ca else {
            throw nodes.error(node, "inspection needs 'ca' ({cert: PEM, key: PEM}: the CA that signs the leaves minted for inspected hosts)")
        }
        let verification = clients?.settings ?? InspectionSettings.ClientVerification()
        // A required certificate with nothing to verify it against would refuse every client.
        if verification.require && verification.caPath == nil && verification.pins.isEmpty {
            throw nodes.error(clients?.node ?? node,
                              "inspection.clients needs 'ca' or 'pins' to verify the clients' certificates (or require: false)")
        }
        // The cloud trusts the upstream certificate as the sensor itself: only a client that proved who it
        // is may be given one.
        if !verification.require, !upstream.clientCerts.isEmpty {
            throw nodes.error(clients?.requireNode ?? node,
                              "inspection.clients.require: false cannot go with inspection.upstream.client_certs: an upstream "
                            + "client certificate is presented only for a client whose own certificate was verified")
        }
        return InspectionSettings(hosts: hosts, ca: ca, clients: verification, upstream: upstream,
                                  sourceLine: key.mark?.line ?? 0)
    }

    /// A policy-relative path, resolved against the policy's folder (absolute paths stay).
    private func inspectionPath(_ node: Node, _ what: String) throws(PolicyError) -> String {
        let text = try nodes.string(node, what)
        guard !text.isEmpty else { throw nodes.error(node, "\(what) must not be empty") }
        return PathText.resolve(text, relativeTo: PathText.directory(of: file))
    }

    private func inspectedHosts(_ node: Node) throws(PolicyError) -> [InspectedHost] {
        var result: [InspectedHost] = []
        for (written, item) in try nodes.strings(node, "inspection.hosts") {
            let pattern = try inspectedHostPattern(expandingInstance(written), item)
            guard !result.contains(where: { $0.pattern == pattern }) else {
                throw nodes.error(item, "duplicate host \(HostText.quoted(InspectedHost(pattern: pattern, sourceLine: 0).description)) in inspection.hosts")
            }
            result.append(InspectedHost(pattern: pattern, sourceLine: item.mark?.line ?? 0))
        }
        guard !result.isEmpty else { throw nodes.error(node, "inspection.hosts must name at least one host") }
        return result
    }

    /// A name, "*.suffix", or an IP address (IPv6 bare or in brackets); never a port or a range.
    private func inspectedHostPattern(_ text: String, _ node: Node) throws(PolicyError) -> InspectedHost.Pattern {
        let shown = HostText.quoted(text)
        let what = "host \(shown) in inspection.hosts"
        guard !text.contains(AtpExpansion.placeholder) else { throw nodes.error(node, "{instance} needs atp.instance (\(what))") }
        let bracketed = text.hasPrefix("[") && text.hasSuffix("]")
        if !bracketed, text.contains(":"), let address = IPAddress(text), !address.isIPv4 {
            return .address(address)
        }
        if !bracketed && text.contains(":") || text.contains("/") {
            throw nodes.error(node, "bad \(what): a host name, '*.suffix' or one IP address, without port or prefix "
                                  + "(the inspected ports are 443 and those of https:// rules)")
        }
        var body = Substring(text)
        let isWildcard = body.hasPrefix("*.")
        if isWildcard { body = body.dropFirst(2) }
        guard !body.contains("*") else {
            throw nodes.error(node, "bad wildcard in \(what): '*' is only allowed as a leading '*.' label")
        }
        let host: Host
        do {
            host = try Host.normalize(body)
        } catch {
            throw nodes.error(node, "bad \(what): \(error.reason)")
        }
        switch (host, isWildcard) {
        case (.name(let name), false): return .exact(name)
        case (.name(let name), true): return .suffix(name)
        case (.ip(let address), false): return .address(address)
        case (.ip, true): throw nodes.error(node, "bad \(what): a wildcard needs a name suffix, not an address")
        }
    }

    private func keyPair(_ node: Node, _ what: String, keys: [String]) throws(PolicyError) -> InspectionSettings.KeyPair {
        var cert: String? = nil
        var key: String? = nil
        for (field, fieldKey, value) in try nodes.mapping(node, what) {
            switch field {
            case "cert": cert = try inspectionPath(value, "\(what).cert")
            case "key": key = try inspectionPath(value, "\(what).key")
            default: throw nodes.unknownKey(field, fieldKey, in: what, known: keys)
            }
        }
        guard let cert else { throw nodes.error(node, "\(what) needs 'cert' (a PEM certificate)") }
        guard let key else { throw nodes.error(node, "\(what) needs 'key' (the PEM private key of \(what).cert)") }
        return InspectionSettings.KeyPair(certPath: cert, keyPath: key)
    }

    private func clientVerification(_ node: Node) throws(PolicyError)
        -> (settings: InspectionSettings.ClientVerification, node: Node, requireNode: Node?) {
        var caPath: String? = nil
        var pins: [[UInt8]] = []
        var require = true
        var requireNode: Node? = nil
        for (field, fieldKey, value) in try nodes.mapping(node, "inspection.clients") {
            switch field {
            case "ca": caPath = try inspectionPath(value, "inspection.clients.ca")
            case "pins":
                for (text, item) in try nodes.strings(value, "inspection.clients.pins") {
                    let pin = try fingerprint(text, item, "each entry of inspection.clients.pins")
                    guard !pins.contains(pin) else { throw nodes.error(item, "duplicate pin in inspection.clients.pins") }
                    pins.append(pin)
                }
            case "require":
                require = try nodes.bool(value, "inspection.clients.require")
                requireNode = value
            default: throw nodes.unknownKey(field, fieldKey, in: "inspection.clients", known: PolicyBuilder.inspectionClientKeys)
            }
        }
        return (InspectionSettings.ClientVerification(caPath: caPath, pins: pins, require: require), node, requireNode)
    }

    private func fingerprint(_ text: String, _ node: Node, _ what: String) throws(PolicyError) -> [UInt8] {
        guard let digest = InspectionFingerprint.parse(text) else {
            throw nodes.error(node, "\(what) must be a SHA-256: 64 hex digits, bare or with ':' between bytes, "
                                  + "got \(HostText.quoted(text))")
        }
        return digest
    }

    private func upstreamSettings(_ node: Node) throws(PolicyError) -> InspectionSettings.Upstream {
        var trust = InspectionSettings.UpstreamTrust.system
        var clientCerts: [ClientCertMapping] = []
        for (field, fieldKey, value) in try nodes.mapping(node, "inspection.upstream") {
            switch field {
            case "trust":
                let text = try nodes.string(value, "inspection.upstream.trust")
                trust = text == "system" ? .system : .bundle(try inspectionPath(value, "inspection.upstream.trust"))
            case "client_certs": clientCerts = try clientCertMappings(value)
            default: throw nodes.unknownKey(field, fieldKey, in: "inspection.upstream", known: PolicyBuilder.inspectionUpstreamKeys)
            }
        }
        return InspectionSettings.Upstream(trust: trust, clientCerts: clientCerts)
    }

    private func clientCertMappings(_ node: Node) throws(PolicyError) -> [ClientCertMapping] {
        let what = "inspection.upstream.client_certs"
        guard case .sequence(let sequence) = node else {
            throw nodes.error(node, "\(what) must be a list (use [] for none), got \(YAMLNodes.kind(node))")
        }
        var result: [ClientCertMapping] = []
        for item in sequence {
            if let previous = result.last, previous.match == .default {
                throw nodes.error(item, "'default' must be the last entry of \(what) (the entries after it would never be used)")
            }
            var match: ClientCertMapping.Match? = nil
            var cert: String? = nil
            var key: String? = nil
            for (field, fieldKey, value) in try nodes.mapping(item, "each entry of \(what)") {
                switch field {
                case "match": match = try clientCertMatch(value)
                case "cert": cert = try inspectionPath(value, "\(what).cert")
                case "key": key = try inspectionPath(value, "\(what).key")
                default: throw nodes.unknownKey(field, fieldKey, in: what, known: PolicyBuilder.inspectionClientCertKeys)
                }
            }
            guard let match else {
                throw nodes.error(item, "each entry of \(what) needs 'match' ({subject_cn: GLOB}, {san: GLOB}, {sha256: HEX} or default)")
            }
            guard let cert else { throw nodes.error(item, "each entry of \(what) needs 'cert' (PEM: the leaf, then its chain)") }
            guard let key else { throw nodes.error(item, "each entry of \(what) needs 'key' (the PEM private key of its cert)") }
            result.append(ClientCertMapping(match: match, certPath: cert, keyPath: key, sourceLine: item.mark?.line ?? 0))
        }
        return result
    }

    /// `default`, or a mapping with exactly one of subject_cn, san, sha256.
    private func clientCertMatch(_ node: Node) throws(PolicyError) -> ClientCertMapping.Match {
        let what = "inspection.upstream.client_certs match"
        if case .scalar = node, !YAMLNodes.isNull(node) {
            guard node.scalar?.string == "default" else {
                throw nodes.error(node, "\(what) must be default or one of {subject_cn: GLOB}, {san: GLOB}, {sha256: HEX}, "
                                      + "got \(YAMLNodes.kind(node))")
            }
            return .default
        }
        let fields = try nodes.mapping(node, what)
        guard fields.count == 1, let (field, fieldKey, value) = fields.first else {
            throw nodes.error(node, "\(what) must name exactly one of subject_cn, san, sha256")
        }
        switch field {
        case "subject_cn": return .subjectCN(try glob(value, "\(what).subject_cn"))
        case "san": return .san(try glob(value, "\(what).san"))
        case "sha256": return .sha256(try fingerprint(try nodes.string(value, "\(what).sha256"), value, "\(what).sha256"))
        default: throw nodes.unknownKey(field, fieldKey, in: what, known: PolicyBuilder.inspectionMatchKeys)
        }
    }

    /// A name pattern with `*` wildcards: printable, no control characters, not empty.
    private func glob(_ node: Node, _ what: String) throws(PolicyError) -> String {
        let text = try nodes.string(node, what)
        guard !text.isEmpty, !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw nodes.error(node, "\(what) must be a non-empty name pattern ('*' matches any characters), got \(YAMLNodes.kind(node))")
        }
        return text
    }
}
