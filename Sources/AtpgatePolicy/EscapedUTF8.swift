/// Checks the non-ASCII bytes of a path (percent-escapes, or raw bytes in rule text) as they run
/// together: a server decodes consecutive escapes as one UTF-8 text, so they must be valid,
/// shortest-form UTF-8 there. Lax decoders read overlong forms ("%C0%AE" as '.'), surrogates and
/// values beyond U+10FFFF as whatever suits them, and a truncated sequence or a lone
/// continuation byte may swallow or become the next character.
struct EscapedUTF8 {
    private var remaining = 0
    private var length = 0
    private var scalar: UInt32 = 0

    mutating func add(_ byte: UInt8) throws(PathError) {
        if remaining == 0 {
            switch byte {
            case 0x80...0xBF: throw EscapedUTF8.error("lone continuation byte")
            case 0xC0, 0xC1: throw EscapedUTF8.error("overlong form")
            case 0xC2...0xDF: start(byte & 0x1F, length: 2)
            case 0xE0...0xEF: start(byte & 0x0F, length: 3)
            case 0xF0...0xF4: start(byte & 0x07, length: 4)
            default: throw EscapedUTF8.error("value beyond U+10FFFF")
            }
            return
        }
        guard byte & 0xC0 == 0x80 else { throw EscapedUTF8.error("truncated sequence") }
        scalar = scalar << 6 | UInt32(byte & 0x3F)
        remaining -= 1
        guard remaining == 0 else { return }
        if (length == 3 && scalar < 0x800) || (length == 4 && scalar < 0x1_0000) {
            throw EscapedUTF8.error("overlong form")
        }
        if (0xD800...0xDFFF).contains(scalar) { throw EscapedUTF8.error("surrogate") }
        if scalar > 0x10_FFFF { throw EscapedUTF8.error("value beyond U+10FFFF") }
        if EscapedUTF8.isLookalike(scalar) {
            throw PathError(reason: "look-alike of an ASCII character (full-width or best-fit mapped) in request path")
        }
    }

    /// An ASCII byte, or the end of the path: a sequence still open is truncated.
    mutating func endRun() throws(PathError) {
        if remaining != 0 { throw EscapedUTF8.error("truncated sequence") }
    }

    private mutating func start(_ bits: UInt8, length: Int) {
        scalar = UInt32(bits)
        self.length = length
        remaining = length - 1
    }

    private static func error(_ what: String) -> PathError {
        PathError(reason: "invalid UTF-8 in escapes of request path (\(what))")
    }

    /// Characters that compatibility normalisation (NFKC) or Windows "best fit" code-page mapping
    /// turns into ASCII, which a server doing either would then read as a letter, '.', '/', '\',
    /// ';', '%' or '?': full-width ASCII, small form variants, dot leaders, the math slashes, and
    /// the yen and won signs (the backslash of Japanese and Korean code pages).
    private static func isLookalike(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0xFF01...0xFF5E,           // full-width ASCII: "／" "．" "ａ" ...
             0xFE50...0xFE6B,           // small form variants: "﹒" "﹔" "﹨" "﹪" ...
             0x2024...0x2026,           // one and two dot leaders, ellipsis: ".", "..", "..."
             0x037E,                    // Greek question mark: canonically ';'
             0x2044, 0x2215, 0x2216,    // fraction slash, division slash, set minus
             0x29F5, 0x29F8, 0x29F9,    // reverse solidus operator, big solidus, big reverse solidus
             0x00A5, 0x20A9, 0xFFE5, 0xFFE6:   // yen, won, full-width yen and won
            return true
        default:
            return false
        }
    }
}
