import AtpgateNet

extension Policy {
    /// The port every inspected host is inspected on; `https://` rules add theirs.
    static let inspectedDefaultPort: UInt16 = 443

    /// Whether a CONNECT to `host:port` is TLS-inspected: inspection is configured, `host` is in
    /// `inspection.hosts`, and `port` is 443 or the port of an `https://` rule (allow or deny) for `host`.
    /// Any other port of an inspected host is tunnelled untouched when a `HOST:PORTS` rule allows it: only
    /// HTTPS is inspected, and the https:// rules say where else HTTPS runs. Says nothing about whether the
    /// CONNECT is allowed (`decide` does; an allowed CONNECT carries this in `Decision.inspected`).
    public func inspects(host: Host, port: UInt16) -> Bool {
        guard let inspection, inspection.covers(host) else { return false }
        return port == Policy.inspectedDefaultPort || httpsRules.contains { $0.ports.contains(port) && $0.host.matches(host) }
    }

    /// One line for `atpgate explain` on a CONNECT target: whether it is inspected and, if so, which
    /// rules decide the requests inside (in the order they are consulted: deny rules, then allow rules).
    public func inspectionExplanation(host: Host, port: UInt16) -> String {
        guard let inspection else { return "inspection: off (the policy has no inspection section)" }
        guard let entry = inspection.hosts.first(where: { $0.matches(host) }) else {
            return "inspection: not inspected (\(host) is not in inspection.hosts): the tunnel is relayed untouched"
        }
        guard inspects(host: host, port: port) else {
            return "inspection: not inspected (port \(port) is neither 443 nor the port of an https:// rule for \(host)): "
                 + "the tunnel is relayed untouched"
        }
        let applies = { (rule: Rule) in rule.ports.contains(port) && rule.host.matches(host) }
        let deny = denyRules.filter { $0.isHTTPS && applies($0) }
        let allow = allowRules.filter { !$0.form.isPlainHTTP && applies($0) }
        var parts = deny.map { "deny \($0.display) (\($0.reference))" }
        parts += allow.map { $0.isHTTPS ? "allow \($0.display) (\($0.reference))" : "allow every path by \($0.display) (\($0.reference))" }
        if !allow.contains(where: { !$0.isHTTPS }) { parts.append("any other path is denied") }
        return "inspection: inspected (inspection.hosts entry '\(entry)', \(referenceName(line: entry.sourceLine))): "
             + "each request inside must name \(host) in Host and is decided again: " + parts.joined(separator: "; ")
    }

    /// "atpgate.yaml:12", as rule references print a line of the policy file.
    func referenceName(line: Int) -> String {
        "\(PathText.basename(file)):\(line)"
    }
}
