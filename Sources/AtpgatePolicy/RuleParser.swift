import AtpgateNet

/// A rule text problem; the loader attaches the YAML position.
struct RuleSyntaxError: Error {
    let message: String
}

/// Parses `HOST[:PORTS]`, `http://HOST[:PORT]/PATH` and `https://HOST[:PORT]/PATH` rules. Every form
/// not listed in the policy grammar is an error, because a silently misread rule is an open door.
/// Whether an `https://` rule may stand where it is written (its host must be inspected) is for the
/// caller to say: the grammar alone cannot.
enum RuleParser {
    struct Parsed: Equatable {
        let host: HostPattern
        let ports: PortSet
        let form: RuleForm

        init(host: HostPattern, ports: PortSet, form: RuleForm) {
            self.host = host
            self.ports = ports
            self.form = form
        }

        /// A `HOST:PORTS` rule (no path) or an `http://` one: the only forms the catalog makes.
        init(host: HostPattern, ports: PortSet, path: PathPattern?) {
            self.init(host: host, ports: ports, form: path.map(RuleForm.http) ?? .target)
        }
    }

    /// With `acceptingHTTPS` false (the catalog, which knows nothing of inspection) an `https://` rule
    /// is refused like any other scheme; the policy passes true and checks the host itself.
    static func parse(_ text: String, verdict: Verdict, acceptingHTTPS: Bool = false) throws(RuleSyntaxError) -> Parsed {
        let shown = HostText.quoted(text)
        guard !text.isEmpty else { throw RuleSyntaxError(message: "empty rule") }
        guard !text.contains("{instance}") else { throw RuleSyntaxError(message: "{instance} needs atp.instance") }
        guard !text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) else {
            throw RuleSyntaxError(message: "whitespace in rule \(shown)")
        }
        let lower = text.lowercased()
        if lower.hasPrefix("http://") {
            return try parsePathRule(String(text.dropFirst(7)), scheme: .http, shown: shown)
        }
        if acceptingHTTPS && lower.hasPrefix("https://") {
            return try parsePathRule(String(text.dropFirst(8)), scheme: .https, shown: shown)
        }
        if lower.contains("://") {
            throw RuleSyntaxError(message: "bad rule \(shown): only http:// rules take a path; use HOST:PORTS for TLS")
        }
        let (hostText, portText) = try splitHostPort(text, shown: shown)
        let host = try hostPattern(hostText, shown: shown)
        let ports: PortSet
        if let portText {
            ports = try portSet(portText, shown: shown)
        } else {
            ports = verdict == .allow ? .single(443) : .any   // allow defaults narrow, deny wide
        }
        return Parsed(host: host, ports: ports, form: .target)
    }

    /// The scheme of a path rule: which requests it sees, and its default port.
    enum PathScheme: String {
        case http, https

        var defaultPort: UInt16 { self == .http ? 80 : 443 }
    }

    /// `http://` and `https://` rules share the grammar: one host (a name, "*.suffix" or one address,
    /// never a CIDR), at most one port (1-65535), a path. They differ in what they match (`RuleForm`).
    private static func parsePathRule(_ rest: String, scheme: PathScheme, shown: String) throws(RuleSyntaxError) -> Parsed {
        guard let slash = rest.firstIndex(of: "/") else {
            let hint = scheme == .https ? "; HOST:443 allows every path" : ""
            throw RuleSyntaxError(message: "bad rule \(shown): \(scheme.rawValue):// rule needs a path (\(scheme.rawValue)://HOST/PATH\(hint))")
        }
        let (hostText, portText) = try splitHostPort(String(rest[..<slash]), shown: shown)
        let host = try hostPattern(hostText, shown: shown)
        var port = scheme.defaultPort
        if let portText {
            guard let single = PortText.parse(portText) else {
                throw RuleSyntaxError(message: "bad port '\(portText)' in \(shown): an \(scheme.rawValue):// rule takes one port from 1 to 65535")
            }
            port = single
        }
        let path = try pathPattern(String(rest[slash...]), shown: shown)
        return Parsed(host: host, ports: .single(port), form: scheme == .http ? .http(path) : .https(path))
    }

    /// Splits off ":PORTS". Bracketed hosts are IPv6; an unbracketed text with two or more
    /// colons is a bare IPv6 address or CIDR with no port.
    private static func splitHostPort(_ text: String, shown: String) throws(RuleSyntaxError) -> (Substring, Substring?) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw RuleSyntaxError(message: "bad rule \(shown): unterminated '['")
            }
            let host = text[...close]
            let after = text[text.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.hasPrefix(":") else { throw RuleSyntaxError(message: "bad rule \(shown): expected ':' after ']'") }
            return (host, after.dropFirst())
        }
        let colons = text.count(where: { $0 == ":" })
        if colons == 0 { return (text[...], nil) }
        if colons == 1, let colon = text.firstIndex(of: ":") {
            return (text[..<colon], text[text.index(after: colon)...])
        }
        return (text[...], nil)
    }

    private static func hostPattern(_ text: Substring, shown: String) throws(RuleSyntaxError) -> HostPattern {
        guard !text.isEmpty else { throw RuleSyntaxError(message: "bad rule \(shown): missing host") }
        var body = text
        let bracketed = text.hasPrefix("[")
        if bracketed { body = text.dropFirst().dropLast() }
        if body.contains(":") || body.contains("/") || bracketed {
            guard let network = IPNetwork(body), network.address.isIPv4 != (bracketed || body.contains(":")) else {
                throw RuleSyntaxError(message: "bad address or CIDR \(HostText.quoted(String(text))) in rule \(shown)")
            }
            return .network(network)
        }
        if body.hasPrefix("*.") {
            let suffix = body.dropFirst(2)
            guard !suffix.contains("*") else { throw wildcardError(shown) }
            guard case .name(let name) = try normalized(suffix, shown: shown) else {
                throw RuleSyntaxError(message: "bad rule \(shown): a wildcard needs a name suffix, not an address")
            }
            return .suffix(name)
        }
        guard !body.contains("*") else { throw wildcardError(shown) }
        switch try normalized(body, shown: shown) {
        case .name(let name): return .exact(name)
        case .ip(let address): return .network(IPNetwork(address: address, prefixLength: address.bitWidth))
        }
    }

    private static func normalized(_ text: Substring, shown: String) throws(RuleSyntaxError) -> Host {
        do {
            return try Host.normalize(text)
        } catch {
            throw RuleSyntaxError(message: "bad host in rule \(shown): \(error.reason)")
        }
    }

    private static func wildcardError(_ shown: String) -> RuleSyntaxError {
        RuleSyntaxError(message: "bad wildcard in rule \(shown): '*' is only allowed as a leading '*.' label")
    }

    /// "443", "80,443", "8000-8100", "*" (alone). Ranges and lists may be combined.
    static func portSet(_ text: Substring, shown: String) throws(RuleSyntaxError) -> PortSet {
        if text == "*" { return .any }
        var ranges: [ClosedRange<UInt16>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let low = PortText.parse(bounds[0]),
                  let high = bounds.count == 2 ? PortText.parse(bounds[1]) : low, low <= high else {
                throw RuleSyntaxError(message: "bad ports '\(text)' in rule \(shown)")
            }
            ranges.append(low...high)
        }
        return PortSet(ranges: ranges, isAny: false)
    }

    /// A rule path must itself pass request-path validation, so it can only ever be
    /// compared with paths the engine would forward, and is kept in the canonical form
    /// requests are matched in ("/%6Fk/*" is "/ok/*"). "/*" suffix marks a prefix.
    private static func pathPattern(_ path: String, shown: String) throws(RuleSyntaxError) -> PathPattern {
        guard !path.contains("?"), !path.contains("#") else {
            throw RuleSyntaxError(message: "bad path in rule \(shown): no query or fragment allowed")
        }
        let isPrefix = path.hasSuffix("/*")
        let body = isPrefix ? String(path.dropLast()) : path
        guard !body.contains("*") else {
            throw RuleSyntaxError(message: "bad path in rule \(shown): '*' is only allowed as a final '/*'")
        }
        let canonical: String
        do {
            canonical = try Policy.canonicalRequestPath(body)
        } catch {
            throw RuleSyntaxError(message: "bad path in rule \(shown): \(error.reason)")
        }
        return isPrefix ? .prefix(canonical) : .exact(canonical)
    }
}
