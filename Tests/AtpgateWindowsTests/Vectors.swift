import AtpgateWindows
import Testing

/// The brief's test vectors (Windows, Wine and .NET agree on them).
enum Vectors {
    static func bytes(_ hex: String, zeros: Int = 0) -> [UInt8] {
        try! Hex.parse(hex) + [UInt8](repeating: 0, count: zeros)
    }

    static let full = bytes("46000000400000000F0000000D000000676F6F676C652E636F6D3A34320B0000004C6F6C3B3C6C6F63616C3E"
                            + "11000000687474703A2F2F676F6F676C652E66722F", zeros: 32)
    static let direct = bytes("460000003A00000001000000", zeros: 44)
    static let ie5 = bytes("3C0000003A00000009000000", zeros: 40)
    static let winhttp = bytes("28000000000000000300000004000000613A3432040000002A2E3432")
    /// What `netsh winhttp reset proxy` leaves.
    static let winhttpReset = bytes("1800000000000000010000000000000000000000")

    static let all: [[UInt8]] = [full, direct, ie5, winhttp, winhttpReset]
}
