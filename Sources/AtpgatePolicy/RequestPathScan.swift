/// One pass over a request path, up to the first '?', that refuses every spelling some server
/// could resolve to a different path than the canonical one rules are matched against, and notes
/// what the matching readings need. Refused, because a server we forward to may read them as:
/// - a dot segment, also with path parameters ("..;", ".;x": Tomcat and Jetty strip ";params"
///   before resolving dot segments, so "/ok/..;/admin" is "/admin" to them);
/// - an empty segment ("//" anywhere): several servers merge slashes (nginx `merge_slashes`,
///   Apache `MergeSlashes`), so "/ok//admin" or "//admin" is another path to them; also a segment
///   that is empty once its parameters are stripped ("/;x/admin" is "//admin" to Tomcat, then
///   "/admin");
/// - an escaped '.', '/' or '\' (a server that decodes before resolving sees a dot segment or a
///   separator), a double escape ("%252e": servers that decode twice see "%2e"), an escaped
///   control ("%00" ends the path for C code, "%0d%0a" splits heads), '%' without two hex digits
///   (IIS reads "%u002e" as '.'), and escapes that are not valid shortest-form UTF-8 (overlong
///   "%C0%AE" is '.' to lax decoders) or decode to look-alikes that Unicode or Windows "best fit"
///   mapping turns into ASCII ("%EF%BC%8F" is '/');
/// - a raw backslash (a separator on Windows), control, space or '#';
/// - what Windows servers (IIS on NTFS) read as another name: a segment name ending in '.' or a
///   space ("/admin./" and "/admin%20/" are "/admin/" to them), an alternate data stream
///   ("/admin::$DATA"), and an 8.3 short name ("/ADMINI~1/"). Checked on decoded characters, so
///   "%3A%24" is ':$' too.
/// An escaped ';' ("%3B") counts as a parameter delimiter wherever that is the stricter reading.
struct PathScan {
    /// Bytes in the path part (before the first '?').
    let end: Int
    /// The canonical form differs from the bytes as received: a decodable escape, lower-case hex,
    /// or raw non-ASCII (only possible in rule text). Without one the path matches as it is.
    let needsCanonicalCopy: Bool
    /// Some segment carries ';' parameters (or an escaped ';'): deny rules also match the
    /// reading without them.
    let hasParameters: Bool

    static func of(_ path: String) throws(PathError) -> PathScan {
        // No copy for native strings: this runs for every forwarded request.
        let result = path.utf8.withContiguousStorageIfAvailable(scan) ?? Array(path.utf8).withUnsafeBufferPointer(scan)
        return try result.get()
    }

    /// Typed errors do not cross `withContiguousStorageIfAvailable` (it rethrows `any Error`).
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<PathScan, PathError> {
        do throws(PathError) {
            return .success(try PathScan(bytes))
        } catch {
            return .failure(error)
        }
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>) throws(PathError) {
        guard bytes.first == PathByte.slash else { throw PathError(reason: "request path must start with '/'") }
        var utf8 = EscapedUTF8()
        var needsCopy = false
        var hasParameters = false
        var segmentStart = 1
        var nameEnd: Int? = nil   // where the segment's first ';' (or "%3B") starts
        var windows = WindowsNameCheck()
        var index = 1
        while index < bytes.count, bytes[index] != PathByte.question {
            let byte = bytes[index]
            if byte == PathByte.percent {
                guard index + 2 < bytes.count, let high = PathHex.value(bytes[index + 1]), let low = PathHex.value(bytes[index + 2]) else {
                    throw PathError(reason: "'%' not followed by two hex digits in request path")
                }
                let value = high << 4 | low
                needsCopy = needsCopy || PathHex.isLowerCase(bytes[index + 1]) || PathHex.isLowerCase(bytes[index + 2])
                if value >= 0x80 {
                    try utf8.add(value)
                    windows.noteNonASCII(inName: nameEnd == nil)
                } else {
                    try utf8.endRun()
                    try PathScan.checkEscapedASCII(value, followedBy: bytes, at: index + 3)
                    if value == PathByte.semicolon {
                        hasParameters = true
                        if nameEnd == nil { nameEnd = index }
                    }
                    try windows.note(value, inName: nameEnd == nil)
                    needsCopy = needsCopy || PathCanonical.decodes(value)
                }
                index += 3
                continue
            }
            if byte >= 0x80 {
                try utf8.add(byte)
                windows.noteNonASCII(inName: nameEnd == nil)
                needsCopy = true
                index += 1
                continue
            }
            try utf8.endRun()
            switch byte {
            case PathByte.slash:
                try PathScan.checkSegment(bytes, from: segmentStart, to: index, nameEnd: nameEnd, isLast: false)
                try windows.endSegment()
                segmentStart = index + 1
                nameEnd = nil
                index += 1
                continue
            case PathByte.semicolon:
                hasParameters = true
                if nameEnd == nil { nameEnd = index }
            case PathByte.backslash:
                throw PathError(reason: "backslash in request path")
            case PathByte.hash:
                throw PathError(reason: "'#' in request path")
            case ...0x20, 0x7F:
                throw PathError(reason: "control character or space in request path")
            default:
                break
            }
            try windows.note(byte, inName: nameEnd == nil)
            index += 1
        }
        try utf8.endRun()
        try PathScan.checkSegment(bytes, from: segmentStart, to: index, nameEnd: nameEnd, isLast: true)
        try windows.endSegment()
        self.end = index
        self.needsCanonicalCopy = needsCopy
        self.hasParameters = hasParameters
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// An escape of an ASCII byte: controls, '.', '/', '\' and double escapes are refused.
    private static func checkEscapedASCII(_ value: UInt8, followedBy bytes: UnsafeBufferPointer<UInt8>,
                                          at next: Int) throws(PathError) {
        switch value {
        case ..<0x20, 0x7F:
            throw PathError(reason: "escaped control character in request path")
        case PathByte.dot, PathByte.slash, PathByte.backslash:
            throw PathError(reason: "encoded '.', '/' or '\\' in request path")
        case PathByte.percent where startsWithHexDigit(bytes, at: next):
            // "%252e", and "%25%32%65" too: decoded once, both are "%2e".
            throw PathError(reason: "double percent-encoding in request path")
        default:
            return
        }
    }

    /// Whether the character at `index`, raw or escaped, is a hex digit (what would follow the '%'
    /// that a decoded "%25" leaves for a second decoding to read as an escape).
    private static func startsWithHexDigit(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        guard index < bytes.count else { return false }
        if bytes[index] == PathByte.percent, index + 2 < bytes.count,
           let high = PathHex.value(bytes[index + 1]), let low = PathHex.value(bytes[index + 2]) {
            return PathHex.value(high << 4 | low) != nil
        }
        return PathHex.value(bytes[index]) != nil
    }

    /// `bytes[start..<stop]` is one segment; its name is the part before `nameEnd` (its first ';').
    private static func checkSegment(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to stop: Int,
                                     nameEnd: Int?, isLast: Bool) throws(PathError) {
        if start == stop {
            if isLast { return }   // a trailing '/'
            throw PathError(reason: "empty segment ('//') in request path")
        }
        let nameStop = nameEnd ?? stop
        if nameStop == start {
            throw PathError(reason: "path parameters on an empty segment in request path")
        }
        if nameStop - start <= 2 && bytes[start..<nameStop].allSatisfy({ $0 == PathByte.dot }) {
            throw PathError(reason: nameEnd == nil ? "dot segment in request path"
                                                   : "dot segment with path parameters in request path")
        }
    }
}

/// Names that Windows file systems resolve to another name, tracked over the decoded ASCII
/// characters of one segment (non-ASCII characters are noted as nil).
struct WindowsNameCheck {
    private var previous: UInt8? = nil
    private var nameLast: UInt8? = nil
    private var position = 0

    /// Another character of the current segment; `inName` until its first ';'.
    mutating func note(_ character: UInt8?, inName: Bool) throws(PathError) {
        if character == UInt8(ascii: "$") && previous == UInt8(ascii: ":") {
            throw PathError(reason: "NTFS stream name (':$') in request path")
        }
        if let character, PathScan.isDigit(character), previous == UInt8(ascii: "~"), position > 1 {
            throw PathError(reason: "8.3 short name ('~' and a digit) in request path")
        }
        previous = character
        if inName { nameLast = character }
        position += 1
    }

    /// A non-ASCII character, which never completes a pattern.
    mutating func noteNonASCII(inName: Bool) {
        previous = nil
        if inName { nameLast = nil }
        position += 1
    }

    /// The segment ended ('/' or the end of the path).
    mutating func endSegment() throws(PathError) {
        defer { self = WindowsNameCheck() }
        if nameLast == PathByte.dot || nameLast == UInt8(ascii: " ") {
            throw PathError(reason: "path segment ending in '.' or a space (Windows servers drop it)")
        }
    }
}

/// The bytes the path scan and the canonical form care about.
enum PathByte {
    static let slash = UInt8(ascii: "/")
    static let backslash = UInt8(ascii: "\\")
    static let question = UInt8(ascii: "?")
    static let hash = UInt8(ascii: "#")
    static let percent = UInt8(ascii: "%")
    static let semicolon = UInt8(ascii: ";")
    static let dot = UInt8(ascii: ".")
}

enum PathHex {
    static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    static func isLowerCase(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")
    }

    static func upperDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "A") &+ nibble &- 10
    }
}
