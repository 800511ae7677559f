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

/// A plain-HTTP path condition. `prefix` holds the rule path without its trailing "*"
/// (so it ends in "/"), which makes the segment-boundary test a plain hasPrefix.
enum PathPattern: Hashable, Sendable, CustomStringConvertible {
    case exact(String)
    case prefix(String)

    /// Byte comparison: case-sensitive and without Unicode equivalence, so "é" spelled two ways
    /// are two different paths, as they are to the origin server.
    func matches(_ path: Substring) -> Bool {
        switch self {
        case .exact(let exact): return path.utf8.elementsEqual(exact.utf8)
        case .prefix(let prefix): return path.utf8.starts(with: prefix.utf8)
        }
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

    func matches(port: UInt16, path requestPath: Substring?) -> Bool {
        guard ports.contains(port) else { return false }
        guard let path else { return true }
        guard let requestPath else { return false }   // path rules never match CONNECT
        return path.matches(requestPath)
    }
}
