/// SHA-256 certificate fingerprints as operators copy them: 64 hex digits in either case, bare
/// (`sha256sum`, PowerShell's `Get-FileHash`) or with a colon between every byte (`openssl x509
/// -fingerprint -sha256`). Colons anywhere else are refused: a digit lost while copying must not go
/// unnoticed by shifting the pairs.
enum InspectionFingerprint {
    static func parse(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        let digits: [UInt8]
        if bytes.contains(UInt8(ascii: ":")) {
            guard bytes.count == 32 * 3 - 1 else { return nil }
            for index in stride(from: 2, to: bytes.count, by: 3) where bytes[index] != UInt8(ascii: ":") { return nil }
            digits = bytes.enumerated().filter { ($0.offset + 1) % 3 != 0 }.map(\.element)
        } else {
            digits = bytes
        }
        guard digits.count == 64 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = PathHex.value(digits[index]), let low = PathHex.value(digits[index + 1]) else { return nil }
            result.append(high << 4 | low)
        }
        return result
    }

    /// Lower-case hex without separators.
    static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest { out += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
