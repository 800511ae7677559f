/// What path rules are matched against: the canonical path part of one valid request path. Allow
/// rules match it exactly; deny rules match every reading a server could make of it, ignoring
/// ASCII case, with and without ";params" (`PathPattern.matchesWithoutParameters`), so any way a
/// server could read the path is caught (deny beats allow).
struct PathReadings {
    /// The canonical path part (no query). A slice of the request when that is already canonical
    /// (no escape to rewrite: the common case allocates nothing).
    let canonical: Substring
    /// Whether some segment has ";params" (or "%3B"): only then is there a second reading.
    let hasParameters: Bool

    init(_ raw: String) throws(PathError) {
        let scan = try PathScan.of(raw)
        let path = raw[..<raw.utf8.index(raw.utf8.startIndex, offsetBy: scan.end)]
        canonical = scan.needsCanonicalCopy ? Substring(PathCanonical.canonical(path)) : path
        hasParameters = scan.hasParameters
    }
}

/// Builds the canonical form: RFC 3986 §6.2.2 normalisation, widened to every escape a server
/// decodes to the same character it would read unescaped.
enum PathCanonical {
    /// Whether an escape of `value` (ASCII) is written decoded in the canonical form: printable
    /// ASCII that means the same to a server escaped or not. That is the unreserved characters
    /// RFC 3986 says to decode ("%6F" is 'o'), and also the sub-delimiters, ':', '@' and the
    /// characters a path may not hold raw: a server decodes "%2B" to '+' before it looks, so a
    /// deny rule naming "/a+b" must also catch "/a%2Bb". Kept escaped: '%' (it would start a new
    /// escape), '/', '?', '#' and ';' (they would change the structure), '.' and '\' (refused
    /// escaped anyway), space and controls (refused escaped, not printable).
    static func decodes(_ value: UInt8) -> Bool {
        guard value > 0x20 && value < 0x7F else { return false }
        switch value {
        case PathByte.percent, PathByte.slash, PathByte.question, PathByte.hash, PathByte.semicolon,
             PathByte.dot, PathByte.backslash:
            return false
        default:
            return true
        }
    }

    /// `path` is a validated path part: every '%' starts a two-digit escape. One allocation: the
    /// result is written in place (at most three bytes per input byte, for raw non-ASCII).
    static func canonical(_ path: Substring) -> String {
        path.utf8.withContiguousStorageIfAvailable(canonical) ?? Array(path.utf8).withUnsafeBufferPointer(canonical)
    }

    private static func canonical(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 3) { out in
            var written = 0
            func emit(_ byte: UInt8) {
                out[written] = byte
                written += 1
            }
            func emitEscape(_ value: UInt8) {
                emit(PathByte.percent)
                emit(PathHex.upperDigit(value >> 4))
                emit(PathHex.upperDigit(value & 0x0F))
            }
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == PathByte.percent, index + 2 < bytes.count,
                   let high = PathHex.value(bytes[index + 1]), let low = PathHex.value(bytes[index + 2]) {
                    let value = high << 4 | low
                    if decodes(value) { emit(value) } else { emitEscape(value) }
                    index += 3
                } else {
                    if byte >= 0x80 { emitEscape(byte) } else { emit(byte) }
                    index += 1
                }
            }
            return written
        }
    }
}
