import AtpgateNet
import Yams

/// Typed access to Yams nodes where every mismatch becomes a PolicyError at the node's
/// own position. The schema code reads like the file format because of it.
struct YAMLNodes {
    let file: String

    func error(_ node: Node, _ message: String) -> PolicyError {
        PolicyError(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message: message)
    }

    /// Yams keeps tag names internal; the raw value is the public way to compare them.
    static func isNull(_ node: Node) -> Bool { node.tag.rawValue == Tag.Name.null.rawValue }
    static func isInt(_ node: Node) -> Bool { node.tag.rawValue == Tag.Name.int.rawValue }
    static func isBool(_ node: Node) -> Bool { node.tag.rawValue == Tag.Name.bool.rawValue }

    static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar: return YAMLNodes.isNull(node) ? "null" : "\(HostText.quoted(node.scalar?.string ?? ""))"
        }
    }

    /// (key text, key node, value node) in document order; keys must be plain strings.
    func mapping(_ node: Node, _ what: String) throws(PolicyError) -> [(String, Node, Node)] {
        guard case .mapping(let mapping) = node else {
            throw error(node, "\(what) must be a mapping, got \(YAMLNodes.kind(node))")
        }
        var pairs: [(String, Node, Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, !YAMLNodes.isNull(key) else {
                throw error(key, "keys in \(what) must be strings, got \(YAMLNodes.kind(key))")
            }
            pairs.append((scalar.string, key, value))
        }
        return pairs
    }

    /// A non-null scalar's text. Numbers and booleans are accepted as their text because
    /// every string field is re-parsed by a strict grammar anyway.
    func string(_ node: Node, _ what: String) throws(PolicyError) -> String {
        guard case .scalar(let scalar) = node, !YAMLNodes.isNull(node) else {
            throw error(node, "\(what) must be a string, got \(YAMLNodes.kind(node))")
        }
        return scalar.string
    }

    /// true or false only. YAML 1.1's yes/no/on/off are refused: a switch that guards
    /// what the proxy allows should be spelled the one way nobody misreads.
    func bool(_ node: Node, _ what: String) throws(PolicyError) -> Bool {
        if YAMLNodes.isBool(node), let text = node.scalar?.string.lowercased(), text == "true" || text == "false" {
            return text == "true"
        }
        throw error(node, "\(what) must be true or false, got \(YAMLNodes.kind(node))")
    }

    /// One string or a list of strings, each with its node for positions. Null is refused
    /// (write [] for an empty list) so a forgotten value is never read as "nothing".
    func strings(_ node: Node, _ what: String) throws(PolicyError) -> [(String, Node)] {
        switch node {
        case .sequence(let sequence):
            var items: [(String, Node)] = []
            for item in sequence { items.append((try string(item, "each entry of \(what)"), item)) }
            return items
        case .scalar where !YAMLNodes.isNull(node):
            return [(try string(node, what), node)]
        default:
            throw error(node, "\(what) must be a string or a list of strings (use [] for none), got \(YAMLNodes.kind(node))")
        }
    }

    /// Unknown-key error with a did-you-mean hint for typos within edit distance 2.
    func unknownKey(_ key: String, _ node: Node, in section: String, known: [String]) -> PolicyError {
        var message = "unknown key \(HostText.quoted(key)) in \(section)"
        if let best = KeySuggestion.closest(to: key, in: known) { message += " (did you mean '\(best)'?)" }
        return error(node, message)
    }
}

/// Levenshtein distance for did-you-mean hints; key lists are tiny, so O(n*m) is fine.
enum KeySuggestion {
    static func closest(to key: String, in known: [String], maxDistance: Int = 2) -> String? {
        let scored = known.map { ($0, distance(key.lowercased(), $0)) }.filter { $0.1 <= maxDistance }
        return scored.min { $0.1 < $1.1 }?.0
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
