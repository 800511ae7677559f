import AtpgateNet
import AtpgatePolicy

/// A WinINET proxy bypass list (`ProxyOverride`, or the bypass string of the settings blob), matched
/// as WinINET matches it: entries split on `;` (and whitespace or commas), case-insensitive, `*`
/// matching any run of characters, and `<local>` matching every name without a dot.
public struct BypassList: Sendable, Equatable {
    public let entries: [String]

    public init(_ text: String) {
        entries = text.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == " " || $0 == "\t" || $0.isNewline })
            .map(String.init)
    }

    public init(entries: [String]) {
        self.entries = entries
    }

    public var text: String { entries.joined(separator: ";") }

    /// The first entry that sends `host` (a name or an IP literal, without brackets) around the proxy.
    public func match(host: String) -> String? {
        let host = host.lowercased()
        return entries.first { BypassList.entry($0, matches: host) }
    }

    /// The first entry that sends some host `pattern` stands for around the proxy.
    public func match(_ pattern: AllowedHost) -> String? {
        entries.first { BypassList.entry($0, mayMatch: pattern) }
    }

    static func entry(_ entry: String, matches host: String) -> Bool {
        let pattern = core(entry)
        if pattern == "<local>" { return !host.contains(".") && !host.contains(":") }
        return glob(pattern, host)
    }

    /// Whether `entry` matches at least one host of `pattern`. For `*.suffix` that is: the entry's
    /// text after its last `*` fits the end of some name below the suffix (any labels may stand in
    /// for the part before it), or, with no `*`, the entry is itself a name below the suffix.
    static func entry(_ entry: String, mayMatch pattern: AllowedHost) -> Bool {
        let text = core(entry)
        switch pattern {
        case .exact(let name):
            return BypassList.entry(entry, matches: name)
        case .suffix(let suffix):
            if text == "<local>" { return false }
            let dotted = "." + suffix
            guard let star = text.lastIndex(of: "*") else { return text.hasSuffix(dotted) }
            let tail = String(text[text.index(after: star)...])
            return dotted.hasSuffix(tail) || tail.hasSuffix(dotted)
        case .network(let network):
            if text == "<local>" { return false }
            if let address = IPAddress(text) { return network.contains(address) }
            if let entryNetwork = IPNetwork(text) {   // not WinINET syntax, but say so rather than miss it
                return entryNetwork.contains(network.address) || network.contains(entryNetwork.address)
            }
            return text.contains("*") && glob(text, network.address.description)
        }
    }

    /// The entry lower-cased, without a `scheme://` prefix or a `:port` suffix: WinINET honours
    /// both, and the check is about hosts, so an entry for one port is read as one for all.
    static func core(_ entry: String) -> String {
        var text = Substring(entry.lowercased())
        if let range = text.firstRange(of: "://") { text = text[range.upperBound...] }
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]"),
           text[text.index(after: colon)...].allSatisfy(\.isNumber), text.filter({ $0 == ":" }).count == 1 {
            text = text[..<colon]
        }
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        return String(text)
    }

    /// `*` matches any run (also empty); everything else literally. Iterative with one backtrack point.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0
        var star: Int? = nil, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ti; pi += 1
            } else if pi < p.count, p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if let star {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
