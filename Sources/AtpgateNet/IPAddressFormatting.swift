/// Canonical text so logs, rule summaries and tests agree on one spelling per address.
extension IPAddress: CustomStringConvertible {
    /// IPv4 dotted quad; IPv6 per RFC 5952 (lower case, no leading zeros, the longest run of
    /// two or more zero groups compressed, first run on a tie). IPv4-mapped addresses use
    /// the mixed form "::ffff:1.2.3.4" that RFC 5952 section 5 recommends.
    public var description: String {
        switch self {
        case .v4(let value):
            return IPAddress.dotted(value)
        case .v6(let high, let low):
            if high == 0 && low >> 32 == 0xFFFF {
                return "::ffff:" + IPAddress.dotted(UInt32(truncatingIfNeeded: low))
            }
            let groups = (0..<8).map { i -> UInt16 in
                let word = i < 4 ? high : low
                return UInt16(truncatingIfNeeded: word >> (48 - 16 * (i % 4)))
            }
            return IPAddress.compressed(groups)
        }
    }

    static func dotted(_ value: UInt32) -> String {
        (0..<4).map { String((value >> (24 - 8 * $0)) & 0xFF) }.joined(separator: ".")
    }

    private static func compressed(_ groups: [UInt16]) -> String {
        var bestStart = -1, bestLength = 1   // runs of length 1 are never compressed
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else { index += 1; continue }
            let start = index
            while index < groups.count && groups[index] == 0 { index += 1 }
            if index - start > bestLength { bestStart = start; bestLength = index - start }
        }
        let hex = { (slice: ArraySlice<UInt16>) in slice.map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(groups[...]) }
        return hex(groups[..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }
}
