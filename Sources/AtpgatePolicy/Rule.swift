import AtpgateNet

/// What a rule's HOST part matches. A name pattern never matches an IP target and a
/// network never matches a name, so a numeric host cannot ride on a name rule.
enum HostPattern: Hashable, Sendable {
    case exact(String)
    /// "*.suffix": one or more labels below `suffix`, never `suffix` itself.
    case suffix(String)
    case network(IPNetwork)

    /// The HOST part as rules print it: "a.com", "*.a.com", "10.0.0.0/8", "[2001:db8::1]".
    var display: String {
        switch self {
        case .exact(let name): return name
        case .suffix(let suffix): return "*." + suffix
        case .network(let network):
            let bare = network.prefixLength == network.address.bitWidth ? network.address.description : network.description
            return network.address.isIPv4 ? bare : "[\(bare)]"
        }
    }

    /// The same test `RuleTable` makes through its indexes, for the few places that hold one rule
    /// (which ports of an inspected host are inspected, `explain`). Allow-list semantics: an IPv6
    /// target is not tried as the IPv4 it embeds.
    func matches(_ host: Host) -> Bool {
        switch (self, host) {
        case (.exact(let exact), .name(let name)): return name == exact
        case (.suffix(let suffix), .name(let name)):
            // Byte comparison (both are normalised ASCII), without building "." + suffix.
            let name = name.utf8, suffix = suffix.utf8
            guard name.count > suffix.count + 1 else { return false }
            let start = name.index(name.endIndex, offsetBy: -suffix.count)
            return name[name.index(before: start)] == UInt8(ascii: ".") && name[start...].elementsEqual(suffix)
        case (.network(let network), .ip(let address)): return network.contains(address)
        default: return false
        }
    }
}

/// Which requests a rule speaks about besides its host and ports: the form it was written in.
enum RuleForm: Hashable, Sendable {
    /// `HOST:PORTS`: every request to the target — the CONNECT, a plain-HTTP request, and every request
    /// inside an inspected tunnel (so `HOST:443` for an inspected host allows every path).
    case target
    /// `http://HOST[:PORT]/PATH`: forwarded plain-HTTP requests whose path matches; never a CONNECT.
    case http(PathPattern)
    /// `https://HOST[:PORT]/PATH`: requests inside an inspected tunnel whose path matches. An allow rule
    /// also allows the CONNECT to HOST:PORT, which is then always inspected; a deny rule never denies the
    /// CONNECT (it speaks about paths, which a CONNECT does not have).
    case https(PathPattern)

    /// An `http://` rule: one that never applies to a CONNECT or inside a tunnel.
    var isPlainHTTP: Bool {
        if case .http = self { return true }
        return false
    }
}

/// What a rule is matched against: the request's kind, with its path readings when it has a path.
enum RuleSubject {
    case connect
    /// A forwarded plain-HTTP request (absolute `http://` form).
    case plainHTTP(PathReadings)
    /// A request inside an inspected tunnel (`Policy.decideInner`).
    case inner(PathReadings)
}

/// A set of ports as inclusive ranges; `any` is kept apart so summaries can print "*".
struct PortSet: Hashable, Sendable, CustomStringConvertible {
    let ranges: [ClosedRange<UInt16>]
    let isAny: Bool

    static let any = PortSet(ranges: [1...65535], isAny: true)
    static func single(_ port: UInt16) -> PortSet { PortSet(ranges: [port...port], isAny: false) }

    func contains(_ port: UInt16) -> Bool {
        ranges.contains { $0.contains(port) }
    }

    var description: String {
        if isAny { return "*" }
        return ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}

/// A plain-HTTP path condition, in canonical form (see `PathCanonical`): "http://h/%6Fk/*" and
/// "http://h/ok/*" compile to the same pattern. `prefix` holds the rule path without its trailing
/// "*" (so it ends in "/"), which makes the segment-boundary test a plain hasPrefix.
enum PathPattern: Hashable, Sendable, CustomStringConvertible {
    case exact(String)
    case prefix(String)

    /// Byte comparison, without Unicode equivalence. Exactly (allow rules: "é" spelled two ways, or
    /// "/OK/", is another path, as it is to a case-sensitive server), or ignoring ASCII case (deny
    /// rules: IIS and other Windows servers ignore path case). On contiguous UTF-8 with a plain
    /// loop: this runs for every path rule sharing the request's host, on every request.
    func matches(_ path: Substring, ignoringCase: Bool) -> Bool {
        let isPrefix = self.isPrefix
        return PathPattern.withBytes(path, text) { path, text in
            guard isPrefix ? path.count >= text.count : path.count == text.count else { return false }
            if ignoringCase {
                for index in 0..<text.count where !PathPattern.sameIgnoringCase(path[index], text[index]) { return false }
            } else {
                for index in 0..<text.count where path[index] != text[index] { return false }
            }
            return true
        }
    }

    /// Matches the reading of `path` (canonical) with ";params" cut from every segment, ignoring
    /// ASCII case: how Tomcat, Jetty and Spring read "/admin;x=1/secret" ("/admin/secret"). An
    /// escaped ';' ("%3B", upper case in the canonical form) counts too, for servers that decode
    /// before they split off parameters. Compared as it is produced: nothing is copied.
    func matchesWithoutParameters(_ path: Substring) -> Bool {
        let isPrefix = self.isPrefix
        return PathPattern.withBytes(path, text) { path, text in
            var matched = 0
            var skipping = false
            var index = 0
            while index < path.count {
                let byte = path[index]
                if byte == PathByte.slash {
                    skipping = false
                } else if !skipping && (byte == PathByte.semicolon || PathPattern.isEscapedSemicolon(path, at: index)) {
                    skipping = true
                }
                if !skipping {
                    if matched == text.count { return isPrefix }   // the reading goes on past the pattern
                    if !PathPattern.sameIgnoringCase(byte, text[matched]) { return false }
                    matched += 1
                }
                index += 1
            }
            return matched == text.count
        }
    }

    private var text: String {
        switch self {
        case .exact(let exact): return exact
        case .prefix(let prefix): return prefix
        }
    }

    private var isPrefix: Bool {
        if case .prefix = self { return true }
        return false
    }

    /// Both as contiguous UTF-8 (native strings always are; anything else is copied once).
    private static func withBytes(_ path: Substring, _ text: String,
                                  _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        let fast = path.utf8.withContiguousStorageIfAvailable { path in
            text.utf8.withContiguousStorageIfAvailable { text in body(path, text) }
        }
        if let fast, let result = fast { return result }
        return Array(path.utf8).withUnsafeBufferPointer { path in
            Array(text.utf8).withUnsafeBufferPointer { text in body(path, text) }
        }
    }

    private static func isEscapedSemicolon(_ path: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        index + 2 < path.count && path[index] == PathByte.percent
            && path[index + 1] == UInt8(ascii: "3") && path[index + 2] == UInt8(ascii: "B")
    }

    @inline(__always)
    private static func sameIgnoringCase(_ a: UInt8, _ b: UInt8) -> Bool {
        a == b || (a | 0x20 == b | 0x20 && (a | 0x20) &- UInt8(ascii: "a") < 26)
    }

    var description: String {
        switch self {
        case .exact(let exact): return exact
        case .prefix(let prefix): return prefix + "*"
        }
    }
}

/// One compiled allow or deny rule.
struct Rule: Sendable {
    let verdict: Verdict
    let host: HostPattern
    let ports: PortSet
    /// Which requests it applies to (see `RuleForm`).
    let form: RuleForm
    let reference: RuleReference
    /// Declaration order within its list; the lowest matching order is reported.
    let order: Int

    /// Whether this is an `https://` rule: one that only an inspected tunnel can apply.
    var isHTTPS: Bool {
        if case .https = form { return true }
        return false
    }

    /// Canonical rule text for summaries and decision reasons.
    var display: String {
        let hostText = host.display
        switch form {
        case .target: return "\(hostText):\(ports)"
        case .http(let path): return "http://\(hostText):\(ports)\(path)"
        case .https(let path): return "https://\(hostText):\(ports)\(path)"
        }
    }

    /// An allow rule matches the canonical path exactly, so "/ok;x/y" is not under "/ok/*" (fail
    /// closed). A deny rule matches any reading a server could make of the path: the canonical
    /// path or the one without ";params", either ignoring ASCII case. `http://` rules see only
    /// plain-HTTP requests and `https://` rules only requests inside inspected tunnels (and, for
    /// allow rules, the CONNECT that opens one).
    func matches(port: UInt16, subject: RuleSubject) -> Bool {
        guard ports.contains(port) else { return false }
        let path: PathPattern
        let requestPath: PathReadings
        switch (form, subject) {
        case (.target, _):
            return true
        case (.https, .connect):
            return verdict == .allow
        case (.http(let pattern), .plainHTTP(let readings)), (.https(let pattern), .inner(let readings)):
            path = pattern
            requestPath = readings
        case (.http, _), (.https, _):
            return false
        }
        switch verdict {
        case .allow:
            return path.matches(requestPath.canonical, ignoringCase: false)
        case .deny:
            if path.matches(requestPath.canonical, ignoringCase: true) { return true }
            return requestPath.hasParameters && path.matchesWithoutParameters(requestPath.canonical)
        }
    }
}
