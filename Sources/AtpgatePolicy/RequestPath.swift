/// A request path the engine must refuse (400) before policy matching.
public struct PathError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

extension Policy {
    /// Refuses paths that an origin server might resolve differently from our prefix match:
    /// dot segments, encoded '.', '/' or '\', backslashes, and (beyond the brief) control
    /// characters and spaces, which no valid request-target contains. Only the part before
    /// '?' is checked: the query is not matched, so its content cannot widen a rule.
    public static func validateRequestPath(_ path: String) throws(PathError) {
        let bytes = Array(path.utf8.prefix { $0 != UInt8(ascii: "?") })
        guard bytes.first == UInt8(ascii: "/") else { throw PathError(reason: "request path must start with '/'") }
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\\") { throw PathError(reason: "backslash in request path") }
            if byte <= 0x20 || byte == 0x7F { throw PathError(reason: "control character or space in request path") }
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, isForbiddenEscape(bytes[index + 1], bytes[index + 2]) {
                throw PathError(reason: "encoded '.', '/' or '\\' in request path")
            }
        }
        for segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) {
                throw PathError(reason: "dot segment in request path")
            }
        }
    }

    /// %2e, %2f, %5c in any case.
    private static func isForbiddenEscape(_ high: UInt8, _ low: UInt8) -> Bool {
        let lowered = low | 0x20
        switch high {
        case UInt8(ascii: "2"): return lowered == UInt8(ascii: "e") || lowered == UInt8(ascii: "f")
        case UInt8(ascii: "5"): return lowered == UInt8(ascii: "c")
        default: return false
        }
    }
}
