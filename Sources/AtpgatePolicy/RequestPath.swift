/// A request path the engine must refuse (400) before policy matching.
public struct PathError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

extension Policy {
    /// Refuses every path that some origin server could read as a different path than the one
    /// rules are matched against (see `PathScan` for the list). Only the part before '?' is
    /// checked: the query is never matched, so its content cannot widen a rule.
    public static func validateRequestPath(_ path: String) throws(PathError) {
        _ = try PathScan.of(path)
    }

    /// The canonical form of a valid path's path part (no query), the only form rules match:
    /// escapes of printable ASCII without a structural meaning decoded ("/%6Fk/" is "/ok/"),
    /// every other escape in upper-case hex, raw non-ASCII (only possible in rule text) escaped.
    /// Never sent upstream: a request goes upstream byte for byte as received.
    public static func canonicalRequestPath(_ path: String) throws(PathError) -> String {
        String(try PathReadings(path).canonical)
    }
}
