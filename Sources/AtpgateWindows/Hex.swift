/// Hex text both ways: lower-case pairs out; in, pairs with any of the separators people paste
/// (spaces, commas, colons, "0x" prefixes, line breaks, regedit's backslash continuations).
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    public static func byte(_ value: UInt8) -> String {
        String(decoding: [digits[Int(value >> 4)], digits[Int(value & 0x0F)]], as: UTF8.self)
    }

    /// Eight digits, upper-case letters as Windows tools print flags and versions ("00000046").
    public static func word(_ value: UInt32) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - text.count) + text
    }

    public static func string(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map(byte).joined()
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(ParseError) -> [UInt8] {
        var out: [UInt8] = []
        var pending: UInt8? = nil
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.first {
            utf8 = utf8.dropFirst()
            if byte == UInt8(ascii: "0"), pending == nil, let next = utf8.first, next | 0x20 == UInt8(ascii: "x") {
                utf8 = utf8.dropFirst()   // "0x46": the prefix, not a digit pair
                continue
            }
            if let value = nibble(byte) {
                if let high = pending {
                    out.append(high << 4 | value)
                    pending = nil
                } else {
                    pending = value
                }
                continue
            }
            guard pending == nil else { throw ParseError(description: "odd hex digit before \(describe(byte)) at byte \(out.count)") }
            guard [UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "\t"),
                   UInt8(ascii: "\r"), UInt8(ascii: "\n")].contains(byte) else {
                throw ParseError(description: "not hex: \(describe(byte)) after \(out.count) bytes")
            }
        }
        guard pending == nil else { throw ParseError(description: "odd number of hex digits") }
        return out
    }

    static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(String(decoding: [byte], as: UTF8.self))'" : "byte 0x\(Hex.byte(byte))"
    }
}
