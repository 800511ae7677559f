import AtpgateNet
import AtpgatePolicy
import Testing

/// Shared helpers: build policies from inline YAML and decisions from short strings.
enum Fixture {
    static let file = "/etc/atpgate/atpgate.yaml"

    static func policy(_ yaml: String) throws -> Policy {
        try PolicyLoader.parse(yaml: yaml, file: file)
    }

    /// A policy whose allow list is `allow` and deny list is `deny` (flow lists, one line).
    static func policy(allow: [String], deny: [String] = []) throws -> Policy {
        let list = { (items: [String]) in "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return try policy("version: 1\nallow: \(list(allow))\ndeny: \(list(deny))\n")
    }

    /// The PolicyError a YAML text produces, or nil if it loads.
    static func loadError(_ yaml: String) -> PolicyError? {
        do {
            _ = try PolicyLoader.parse(yaml: yaml, file: "atpgate.yaml")
            return nil
        } catch {
            return error
        }
    }

    static func request(_ host: String, _ port: UInt16, path: String? = nil) throws -> DecisionRequest {
        DecisionRequest(client: .v4(0x7F00_0001), host: try Host.normalize(host), port: port,
                        kind: path.map { .http(path: $0) } ?? .connect)
    }

    static func address(_ text: String) throws -> IPAddress {
        try #require(IPAddress(text))
    }
}

/// A YAML text and where its load error must point: file line, column and a fragment of the message.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    let yaml: String
    let line: Int
    let column: Int
    let fragment: String
    var testDescription: String { fragment }
    init(_ yaml: String, _ line: Int, _ column: Int, _ fragment: String) {
        self.yaml = yaml; self.line = line; self.column = column; self.fragment = fragment
    }

    /// The error points where this case says, says what it says, and is one line.
    func check(_ error: PolicyError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        #expect((error.line, error.column) == (line, column), "\(error)", sourceLocation: sourceLocation)
        #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
    }
}
