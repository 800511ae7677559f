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
        // One pass over the bytes, no copies: this runs for every forwarded request.
        if let error = path.utf8.withContiguousStorageIfAvailable({ check($0) }) ?? check(Array(path.utf8)) {
            throw error
        }
    }

    private static func check(_ bytes: some RandomAccessCollection<UInt8>) -> PathError? {
        guard bytes.first == UInt8(ascii: "/") else { return PathError(reason: "request path must start with '/'") }
        var segmentStart = bytes.startIndex
        var index = bytes.startIndex
        while true {
            let atEnd = index == bytes.endIndex || bytes[index] == UInt8(ascii: "?")
            if atEnd || bytes[index] == UInt8(ascii: "/") {
                let length = bytes.distance(from: segmentStart, to: index)
                if (length == 1 || length == 2) && bytes[segmentStart..<index].allSatisfy({ $0 == UInt8(ascii: ".") }) {
                    return PathError(reason: "dot segment in request path")
                }
                if atEnd { return nil }
                segmentStart = bytes.index(after: index)
            } else {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") { return PathError(reason: "backslash in request path") }
                if byte <= 0x20 || byte == 0x7F { return PathError(reason: "control character or space in request path") }
                if byte == UInt8(ascii: "%"), bytes.distance(from: index, to: bytes.endIndex) > 2,
                   isForbiddenEscape(bytes[bytes.index(index, offsetBy: 1)], bytes[bytes.index(index, offsetBy: 2)]) {
                    return PathError(reason: "encoded '.', '/' or '\\' in request path")
                }
            }
            index = bytes.index(after: index)
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
