import AtpgateNet

/// What a rule's HOST part matches. A name pattern never matches an IP target and a
/// network never matches a name, so a numeric host cannot ride on a name rule.
enum HostPattern: Hashable, Sendable {
    case exact(String)
    /// "*.suffix": one or more labels below `suffix`, never `suffix` itself.
    case suffix(String)
    case network(IPNetwork)
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
    /// Non-nil only for `http://` rules, which then match plain-HTTP requests only.
    let path: PathPattern?
    let reference: RuleReference
    /// Declaration order within its list; the lowest matching order is reported.
    let order: Int

    /// Canonical rule text for summaries and decision reasons.
    var display: String {
        let hostText: String
        switch host {
        case .exact(let name): hostText = name
        case .suffix(let suffix): hostText = "*." + suffix
        case .network(let network):
            let bare = network.prefixLength == network.address.bitWidth ? network.address.description : network.description
            hostText = network.address.isIPv4 ? bare : "[\(bare)]"
        }
        if let path { return "http://\(hostText):\(ports)\(path)" }
        return "\(hostText):\(ports)"
    }

    /// An allow rule matches the canonical path exactly, so "/ok;x/y" is not under "/ok/*" (fail
    /// closed). A deny rule matches any reading a server could make of the path: the canonical
    /// path or the one without ";params", either ignoring ASCII case.
    func matches(port: UInt16, path requestPath: PathReadings?) -> Bool {
        guard ports.contains(port) else { return false }
        guard let path else { return true }
        guard let requestPath else { return false }   // path rules never match CONNECT
        switch verdict {
        case .allow:
            return path.matches(requestPath.canonical, ignoringCase: false)
        case .deny:
            if path.matches(requestPath.canonical, ignoringCase: true) { return true }
            return requestPath.hasParameters && path.matchesWithoutParameters(requestPath.canonical)
        }
    }
}
