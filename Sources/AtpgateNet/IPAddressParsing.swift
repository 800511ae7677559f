/// Strict textual parsing. Strictness matters: every lenient form (octal, hex, short
/// IPv4, zone ids) is a way to smuggle an internal address past an allowlist.
extension IPAddress {
    /// Parses a strict dotted quad ("127.0.0.1") or RFC 4291 IPv6 text ("::1",
    /// "::ffff:1.2.3.4"). No brackets, no zone id, no leading zeros in IPv4 parts.
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        if let v4 = IPAddress.parseDottedQuad(utf8[...]) {
            self = .v4(v4)
        } else if let (high, low) = IPAddress.parseIPv6(utf8) {
            self = .v6(high, low)
        } else {
            return nil
        }
    }

    /// Exactly four decimal parts 0-255; "0" is fine, "01" is not.
    static func parseDottedQuad(_ text: ArraySlice<UInt8>) -> UInt32? {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard let octet = parseDecimalOctet(part) else { return nil }
            result = result << 8 | UInt32(octet)
        }
        return result
    }

    private static func parseDecimalOctet(_ part: ArraySlice<UInt8>) -> UInt8? {
        guard (1...3).contains(part.count), part.allSatisfy(isDigit) else { return nil }
        if part.count > 1 && part.first == UInt8(ascii: "0") { return nil }
        let value = part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return value <= 255 ? UInt8(value) : nil
    }

    /// RFC 4291 section 2.2: eight 1-4 digit hex groups, at most one "::", optional
    /// trailing dotted quad worth two groups.
    static func parseIPv6(_ text: [UInt8]) -> (UInt64, UInt64)? {
        guard text.count >= 2, text.count <= 45 else { return nil }
        let colon = UInt8(ascii: ":")
        var gap: Int? = nil
        for i in 0..<(text.count - 1) where text[i] == colon && text[i + 1] == colon {
            gap = i
            break
        }
        var groups: [UInt16]
        var compressedAt: Int? = nil
        if let gap {
            let head = text[..<gap], tail = text[(gap + 2)...]
            guard let h = parseGroups(head, endsAddress: false),
                  let t = parseGroups(tail, endsAddress: true),
                  h.count + t.count <= 7 else { return nil }
            groups = h + t
            compressedAt = h.count
        } else {
            guard let all = parseGroups(text[...], endsAddress: true), all.count == 8 else { return nil }
            groups = all
        }
        if let at = compressedAt {
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: at)
        }
        let fold = { (slice: ArraySlice<UInt16>) in slice.reduce(UInt64(0)) { $0 << 16 | UInt64($1) } }
        return (fold(groups[0..<4]), fold(groups[4..<8]))
    }

    /// Colon-separated hex groups; an empty slice is zero groups. Only the final group of
    /// the whole address may be a dotted quad.
    private static func parseGroups(_ text: ArraySlice<UInt8>, endsAddress: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if part.contains(UInt8(ascii: ".")) {
                guard endsAddress, index == parts.count - 1, let v4 = parseDottedQuad(part) else { return nil }
                groups.append(UInt16(truncatingIfNeeded: v4 >> 16))
                groups.append(UInt16(truncatingIfNeeded: v4))
                continue
            }
            guard (1...4).contains(part.count) else { return nil }
            var value: UInt16 = 0
            for byte in part {
                guard let digit = hexValue(byte) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            groups.append(value)
        }
        return groups
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
