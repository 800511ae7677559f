import AtpgateNet
import Yams

/// Turns YAML text into a Yams node tree, mapping every Yams failure to a positioned
/// PolicyError. Kept apart from the schema code so Yams error shapes live in one place.
enum YAMLSource {
    static func compose(_ yaml: String, file: String) throws(PolicyError) -> Node? {
        do {
            // Explicit UTF-8: Yams' default encoding consults the environment.
            return try Parser(yaml: yaml, resolver: .default, constructor: .default, encoding: .utf8).singleRoot()
        } catch let error as YamlError {
            throw policyError(error, yaml: yaml, file: file)
        } catch {
            throw PolicyError(file: file, line: 0, column: 0, message: "YAML error: \(error)")
        }
    }

    private static func policyError(_ error: YamlError, yaml: String, file: String) -> PolicyError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return PolicyError(file: file, line: mark.line, column: mark.column, message: "YAML syntax error: \(problem)")
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacter: $0, in: yaml) } ?? (0, 0)
            return PolicyError(file: file, line: line, column: column, message: "YAML read error: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let (line, column) = secondOccurrence(of: key, firstAt: context.mark, in: yaml)
            return PolicyError(file: file, line: line, column: column, message: "duplicate key \(HostText.quoted(key))")
        default:
            return PolicyError(file: file, line: 0, column: 0, message: "YAML error: \(error)")
        }
    }

    /// Yams reports a duplicate at its first occurrence; users need the repeated one.
    /// Defusing the first occurrence with a marker and composing again exposes the
    /// next one with its own mark. Falls back to the first occurrence on any surprise.
    static func secondOccurrence(of key: String, firstAt mark: Mark, in yaml: String) -> (Int, Int) {
        let fallback = (mark.line, mark.column)
        let marker = "atpgate~dup~"
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard mark.line >= 1, mark.line <= lines.count else { return fallback }
        var scalars = Array(lines[mark.line - 1].unicodeScalars)
        guard mark.column >= 1, mark.column <= scalars.count + 1 else { return fallback }
        scalars.insert(contentsOf: marker.unicodeScalars, at: mark.column - 1)
        lines[mark.line - 1] = String(String.UnicodeScalarView(scalars))
        let shift = { (m: Mark) -> (Int, Int) in
            (m.line, m.line == mark.line && m.column > mark.column ? m.column - marker.unicodeScalars.count : m.column)
        }
        do {
            let parser = try Parser(yaml: lines.joined(separator: "\n"), encoding: .utf8)
            var searched = Set<[Int]>()
            guard let root = try parser.singleRoot(), let found = sibling(of: marker, key: key, in: root, searched: &searched) else {
                return fallback
            }
            return shift(found)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) where duplicates.first == key {
            return shift(context.mark)   // a third occurrence: the second is now reported first
        } catch {
            return fallback
        }
    }

    /// Finds the mapping holding the defused key and returns the mark of its twin.
    ///
    /// An alias is composed as a copy of its anchor's node, mark included, so each collection is searched once
    /// per (position, kind): a subtree already searched cannot hold the marker. Without that, a few lines of
    /// anchors nesting aliases ("a1: &a1 [*a0, *a0, ...]") make the walk exponential and a policy with a
    /// duplicate key would hang `check` and reload.
    private static func sibling(of marker: String, key: String, in node: Node, searched: inout Set<[Int]>) -> Mark? {
        switch node {
        case .mapping(let mapping):
            if let mark = node.mark, !searched.insert([mark.line, mark.column, 0]).inserted { return nil }
            if mapping.keys.contains(where: { $0.scalar?.string.hasPrefix(marker) == true }),
               let twin = mapping.keys.first(where: { $0.scalar?.string == key }) {
                return twin.mark
            }
            for (k, v) in mapping {
                if let mark = sibling(of: marker, key: key, in: k, searched: &searched)
                    ?? sibling(of: marker, key: key, in: v, searched: &searched) { return mark }
            }
            return nil
        case .sequence(let sequence):
            if let mark = node.mark, !searched.insert([mark.line, mark.column, 1]).inserted { return nil }
            for item in sequence { if let mark = sibling(of: marker, key: key, in: item, searched: &searched) { return mark } }
            return nil
        case .scalar, .alias:
            return nil
        }
    }

    /// 1-based line and column of a character offset (reader errors carry offsets).
    static func position(ofCharacter offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for character in text.prefix(offset) {
            if character == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }
}
