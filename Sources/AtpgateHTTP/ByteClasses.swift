// Byte classification used by every parser in this module. Bitmaps instead of lookup arrays: they live
// in registers, need no bounds checks and make no memory access on the hot path.

enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let comma: UInt8 = 0x2C
    static let slash: UInt8 = 0x2F
    static let question: UInt8 = 0x3F
    static let hash: UInt8 = 0x23
    static let at: UInt8 = 0x40
    static let percent: UInt8 = 0x25
    static let openBracket: UInt8 = 0x5B
    static let closeBracket: UInt8 = 0x5D
    static let asterisk: UInt8 = 0x2A
    static let equals: UInt8 = 0x3D
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let del: UInt8 = 0x7F
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
}

/// A set of ASCII bytes as two 64-bit masks.
struct ByteSet: Sendable, Equatable {
    let low: UInt64   // bytes 0..<64
    let high: UInt64  // bytes 64..<128

    /// Constant masks let the compiler place the sets in static data (no lazy-global check per access).
    /// A unit test checks every constant below against its `init(_ members:)` definition.
    init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    init(_ members: String) {
        var low: UInt64 = 0, high: UInt64 = 0
        for b in members.utf8 {
            precondition(b < 128)
            if b < 64 { low |= 1 << UInt64(b) } else { high |= 1 << UInt64(b - 64) }
        }
        self.low = low
        self.high = high
    }

    @inline(__always)
    func contains(_ b: UInt8) -> Bool {
        if b < 64 { return (low >> UInt64(b)) & 1 != 0 }
        if b < 128 { return (high >> UInt64(b &- 64)) & 1 != 0 }
        return false
    }
}

enum ByteClass {
    static let alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    static let digits = "0123456789"

    /// tchar, RFC 9110 §5.6.2: the characters of a token (methods, field names, transfer codings).
    static let tchar = ByteSet(low: 0x03FF_6CFA_0000_0000, high: 0x57FF_FFFF_C7FF_FFFE)
    static let tcharMembers = "!#$%&'*+-.^_`|~" + digits + alpha

    /// RFC 3986 §3.2.2 reg-name without pct-encoded (percent-encoding in hosts is rejected on purpose:
    /// the policy engine matches host names literally), i.e. unreserved / sub-delims.
    static let regName = ByteSet(low: 0x2BFF_7FD2_0000_0000, high: 0x47FF_FFFE_87FF_FFFE)
    static let regNameMembers = alpha + digits + "-._~" + "!$&'()*+,;="

    /// What may appear between the brackets of an IP-literal we accept: IPv6address (RFC 3986 §3.2.2),
    /// including the IPv4-embedded forms. IPvFuture and zone identifiers are rejected.
    static let ipv6Literal = ByteSet(low: 0x07FF_4000_0000_0000, high: 0x0000_007E_0000_007E)
    static let ipv6LiteralMembers = "0123456789abcdefABCDEF:."

    /// URI scheme after its first letter, RFC 3986 §3.1.
    static let schemeTail = ByteSet(low: 0x03FF_6800_0000_0000, high: 0x07FF_FFFE_07FF_FFFE)
    static let schemeTailMembers = alpha + digits + "+-."

    static let alphaSet = ByteSet(low: 0, high: 0x07FF_FFFE_07FF_FFFE)

    @inline(__always) static func isTchar(_ b: UInt8) -> Bool { tchar.contains(b) }

    /// VCHAR, RFC 5234 Appendix B.1: visible ASCII, the only bytes a request-target may hold (RFC 9112 §3.2).
    @inline(__always) static func isVisible(_ b: UInt8) -> Bool { b &- 0x21 < 0x5E }

    /// field-vchar / obs-text / SP / HTAB, RFC 9110 §5.5: everything except CTLs other than HTAB.
    /// DEL (0x7F) is allowed on purpose (the brief; it is "obs-text"-like in practice and harmless).
    @inline(__always) static func isFieldContent(_ b: UInt8) -> Bool { b >= 0x20 || b == ASCII.htab }

    @inline(__always) static func isOWS(_ b: UInt8) -> Bool { b == ASCII.sp || b == ASCII.htab }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- ASCII.zero < 10 }

    /// Value of a hex digit, or nil.
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt64? {
        switch b {
        case 0x30...0x39: return UInt64(b - 0x30)
        case 0x41...0x46: return UInt64(b - 0x41 + 10)
        case 0x61...0x66: return UInt64(b - 0x61 + 10)
        default: return nil
        }
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b &- 0x41 < 26) ? b | 0x20 : b }
}

/// Turning untrusted bytes into text for error reasons.
enum ByteText {
    /// Printable ASCII is kept; everything else is written as `\xNN`, so a reason never carries raw
    /// control bytes (no log injection, no response splitting when echoed). Capped at `max` bytes of input.
    static func quote<C: Collection>(_ bytes: C, max: Int = 48) -> String where C.Element == UInt8 {
        var out = "'"
        var n = 0
        for b in bytes {
            if n == max { out += "..."; break }
            if b >= 0x20 && b < 0x7F && b != 0x27 && b != ASCII.backslash {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x"
                out.unicodeScalars.append(Unicode.Scalar(hexDigit(b >> 4)))
                out.unicodeScalars.append(Unicode.Scalar(hexDigit(b & 0xF)))
            }
            n += 1
        }
        return out + "'"
    }

    static func quote(_ s: String, max: Int = 48) -> String { quote(s.utf8, max: max) }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x41 + v - 10 }
}

/// Case-insensitive ASCII comparison on UTF-8 bytes (field names and tokens are case-insensitive,
/// RFC 9110 §5.1 / §7.6.1), without allocating lower-cased copies.
@inline(__always)
func asciiEqualCaseInsensitive<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    var i = a.startIndex, j = b.startIndex
    while i != a.endIndex {
        if ByteClass.lower(a[i]) != ByteClass.lower(b[j]) { return false }
        a.formIndex(after: &i)
        b.formIndex(after: &j)
    }
    return true
}

@inline(__always)
func asciiEqualCaseInsensitive(_ a: String, _ b: String) -> Bool {
    asciiEqualCaseInsensitive(a.utf8, b.utf8)
}
