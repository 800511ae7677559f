/// One field line (RFC 9110 §5, RFC 9112 §5).
public struct HTTPHeader: Sendable, Equatable {
    /// The field name exactly as received (names are case-insensitive; compare with `values(_:)`).
    public var name: String {
        didSet { isValidated = false }
    }
    /// The field value with leading and trailing OWS removed (RFC 9112 §5.1).
    public var value: String {
        didSet { rawValue = nil; isValidated = false }
    }
    /// The value's exact bytes, kept only when they are not valid UTF-8 (obs-text, RFC 9110 §5.5: recipients
    /// treat it as opaque). `String` would replace such bytes with U+FFFD; keeping them lets the proxy forward
    /// the field byte-exactly. nil in the common case, so it costs nothing; dropped when `value` is assigned.
    var rawValue: [UInt8]?
    /// Set by the parser, whose checks are stricter than `isWritable`'s, so the rewriter can skip re-checking
    /// received fields; cleared by any edit.
    var isValidated: Bool

    public init(name: String, value: String) {
        self.name = name
        self.value = value
        self.rawValue = nil
        self.isValidated = false
    }

    /// A field straight from the parser.
    init(parsedName name: String, value: String, rawValue: [UInt8]?) {
        self.name = name
        self.value = value
        self.rawValue = rawValue
        self.isValidated = true
    }

    /// Fields are equal when they would be written identically; where they came from does not matter.
    public static func == (a: HTTPHeader, b: HTTPHeader) -> Bool {
        a.name == b.name && a.value == b.value && a.rawValue == b.rawValue
    }

    /// True when the field's name equals `other`, ignoring ASCII case.
    public func hasName(_ other: String) -> Bool {
        asciiEqualCaseInsensitive(name, other)
    }

    /// Appends "name: value\r\n" using the exact received bytes when they were kept.
    func write(into out: inout [UInt8]) {
        out.appendUTF8(name)
        out.append(ASCII.colon)
        out.append(ASCII.sp)
        if let rawValue { out.append(contentsOf: rawValue) } else { out.appendUTF8(value) }
        out.append(ASCII.cr)
        out.append(ASCII.lf)
    }
}

/// HTTP-version (RFC 9112 §2.3). Only 1.0 and 1.1 are ever produced by the parsers.
public struct HTTPVersion: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// "HTTP/1.1"
    public var description: String { "HTTP/\(major).\(minor)" }
}

extension Array where Element == HTTPHeader {
    /// All values of the fields named `name` (case-insensitive), in order.
    func values(named name: String) -> [String] {
        var out: [String] = []
        for h in self where h.hasName(name) { out.append(h.value) }
        return out
    }
}

extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 bytes with one memcpy (`append(contentsOf: s.utf8)` goes through the
    /// generic sequence path, which was most of the rewriter's time).
    @inline(__always)
    mutating func appendUTF8(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }
}
