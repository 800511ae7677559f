/// Why bytes are not a settings blob. Offsets count from the start of the blob, so a hex dump
/// and the message point at the same byte.
public enum ConnectionSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer than 4 bytes where a 32-bit field (`field`) starts at `offset`.
    case truncated(field: String, offset: Int, available: Int)
    /// A string's length (read at `offset`) runs past the end: `remaining` bytes follow the length.
    case lengthBeyondEnd(field: String, offset: Int, length: UInt32, remaining: Int)
    /// A version neither WinINET nor WinHTTP writes (or the other kind's, when a kind was asked for).
    case unknownVersion(UInt32, expected: SettingsKind?)
    /// A byte >= 0x80 in a string Windows writes as ASCII (`offset` is the byte's own).
    case nonASCII(field: String, offset: Int, byte: UInt8)
    /// WinINET/WinHTTP have nowhere to put this (WinHTTP has no PAC URL).
    case unsupported(String)

    public var description: String {
        switch self {
        case .truncated(let field, let offset, let available):
            return "truncated at offset \(offset): \(field) needs 4 bytes, \(available) left"
        case .lengthBeyondEnd(let field, let offset, let length, let remaining):
            return "\(field) length \(length) at offset \(offset) runs past the end (\(remaining) bytes follow)"
        case .unknownVersion(let version, let expected):
            let known: String
            switch expected {
            case .wininet?: known = "0x46 or 0x3C for WinINET"
            case .winhttp?: known = "0x28 or 0x18 for WinHTTP"
            case nil: known = "0x46 or 0x3C (WinINET), 0x28 or 0x18 (WinHTTP)"
            }
            return "unknown version 0x\(Hex.word(version)) (expected \(known))"
        case .nonASCII(let field, let offset, let byte):
            return "non-ASCII byte 0x\(Hex.byte(byte)) in \(field) at offset \(offset)"
        case .unsupported(let what):
            return what
        }
    }
}
