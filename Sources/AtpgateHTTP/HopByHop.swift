/// The field names the rewriter treats specially, recognised with one length switch and at most two
/// case-insensitive comparisons per field (RFC 9110 §5.1: names are case-insensitive).
enum FieldKind {
    case connection, hopByHop, contentLength, transferEncoding, host, via, other

    init(_ name: String) {
        let n = name.utf8
        func is_(_ lower: StaticString) -> Bool {
            lower.withUTF8Buffer { asciiEqualCaseInsensitive(n, $0) }
        }
        switch n.count {
        case 2: self = is_("te") ? .hopByHop : .other
        case 3: self = is_("via") ? .via : .other
        case 4: self = is_("host") ? .host : .other
        case 7: self = is_("upgrade") || is_("trailer") ? .hopByHop : .other
        case 10: self = is_("connection") ? .connection : is_("keep-alive") ? .hopByHop : .other
        case 14: self = is_("content-length") ? .contentLength : .other
        case 16: self = is_("proxy-connection") ? .hopByHop : .other
        case 17: self = is_("transfer-encoding") ? .transferEncoding : .other
        case 19: self = is_("proxy-authorization") ? .hopByHop : .other
        default: self = .other
        }
    }
}

/// Which received fields a proxy must not forward (RFC 9110 §7.6.1): the Connection field, every field it
/// names, and the well-known hop-by-hop fields that may be sent without being named (Proxy-Connection,
/// Keep-Alive, Proxy-Authorization, TE, Trailer, Upgrade).
///
/// Connection can NOT remove Content-Length, Transfer-Encoding or Host: dropping the framing fields while
/// forwarding the body would desynchronise the next hop (a smuggling trick), and Host is rewritten anyway.
///
/// The named options live in a hash set, so filtering a head costs one pass over its fields whatever the
/// number of Connection tokens (a list compared per field let a 54 KB head with 3,000 tokens and 3,000
/// fields take ~28 ms of a loop's time).
struct HopByHopFilter {
    /// Connection options of the message (names of further hop-by-hop fields).
    private var named: Set<FieldNameKey> = []
    /// RFC 9112 §6.3 ¶3: a message with Transfer-Encoding loses its Content-Length before being forwarded.
    private(set) var dropContentLength = false

    init(_ headers: [HTTPHeader], kinds: [FieldKind]) {
        for (h, kind) in zip(headers, kinds) {
            switch kind {
            case .connection: forEachListElement(h.value) { named.insert(FieldNameKey($0)) }
            case .transferEncoding: dropContentLength = true
            default: break
            }
        }
    }

    /// True when the field must not be forwarded.
    func removes(_ header: HTTPHeader, kind: FieldKind) -> Bool {
        switch kind {
        case .connection, .hopByHop: return true
        case .contentLength: return dropContentLength
        case .transferEncoding, .host: return false
        case .via, .other:
            if named.isEmpty { return false }
            return named.contains(FieldNameKey(Substring(header.name).utf8))
        }
    }
}

/// A field name as a set key that ignores ASCII case (RFC 9110 §5.1) without lower-casing a copy: the
/// hash folds case byte by byte. Swift's Hasher is seeded per process, so chosen names cannot flood it.
struct FieldNameKey: Hashable {
    let utf8: Substring.UTF8View

    init(_ utf8: Substring.UTF8View) { self.utf8 = utf8 }

    func hash(into hasher: inout Hasher) {
        for b in utf8 { hasher.combine(b &- 0x41 < 26 ? b | 0x20 : b) }
        hasher.combine(utf8.count)
    }

    static func == (a: FieldNameKey, b: FieldNameKey) -> Bool { asciiEqualCaseInsensitive(a.utf8, b.utf8) }
}

extension HTTPHeader {
    /// Whether the field can be serialised without breaking the message: a token name and a value free of
    /// CR, LF, NUL and other CTLs (RFC 9110 §5.5). Parsed fields always are (and skip the check); this guards
    /// fields the engine built or edited, so a bad value can never split a head (response splitting).
    var isWritable: Bool {
        if isValidated { return true }
        var name = name
        let nameOK = name.withUTF8 { n in
            if n.isEmpty { return false }
            for b in n where !ByteClass.isTchar(b) { return false }
            return true
        }
        if !nameOK { return false }
        if let rawValue { return rawValue.withUnsafeBufferPointer(allFieldContent) }
        var value = value
        return value.withUTF8(allFieldContent)
    }
}

/// No CTL other than HTAB in `bytes` (RFC 9110 §5.5).
@inline(__always)
func allFieldContent(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    for b in bytes where !ByteClass.isFieldContent(b) { return false }
    return true
}
