/// A policy load failure pinned to the offending YAML node, in the file:line:column form
/// that editors and CI logs turn into links.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public let file: String
    /// 1-based; 0 when the failure has no position (the file could not be read).
    public let line: Int
    public let column: Int
    /// One line, no trailing period.
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}
