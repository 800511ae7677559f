import Yams

/// The policy's `log:` block.
public struct LogSettings: Sendable, Equatable {
    /// The access log file, resolved against the policy's folder; nil for standard output (the default,
    /// also written `-`).
    public var access: String?

    public init(access: String? = nil) {
        self.access = access
    }
}

extension PolicyBuilder {
    static let logKeys = ["access"]

    func readLog(_ node: Node) throws(PolicyError) -> LogSettings {
        var settings = LogSettings()
        for (key, keyNode, value) in try nodes.mapping(node, "log") {
            switch key {
            case "access":
                let text = try nodes.string(value, "log.access")
                guard !text.isEmpty else { throw nodes.error(value, "log.access must not be empty (use - for standard output)") }
                guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                    throw nodes.error(value, "log.access must not contain control characters")
                }
                // Relative to the policy, like every other file it names, so `atpgate run` works from any folder.
                settings.access = text == "-" ? nil : PathText.resolve(text, relativeTo: PathText.directory(of: file))
            default: throw nodes.unknownKey(key, keyNode, in: "log", known: PolicyBuilder.logKeys)
            }
        }
        return settings
    }
}
