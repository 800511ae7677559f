import AtpgateNet

/// A socket address to listen on. IPv6 is always bracketed so the text is unambiguous
/// and round-trips through `description`.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public let ip: IPAddress
    public let port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// "127.0.0.1:3128", "[::1]:3128", "0.0.0.0:3128", "[::]:3128". Port 1-65535, or 0 for
    /// "any free port" (tests and `--listen 127.0.0.1:0`; the bound port is logged at start).
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let hostPart = text[..<colon]
        let portText = text[text.index(after: colon)...]
        guard let port = portText == "0" ? 0 : PortText.parse(portText) else { return nil }
        let address: IPAddress?
        if hostPart.hasPrefix("[") && hostPart.hasSuffix("]") && hostPart.count >= 2 {
            address = IPAddress(hostPart.dropFirst().dropLast()).flatMap { $0.isIPv4 ? nil : $0 }
        } else {
            address = IPAddress(hostPart).flatMap { $0.isIPv4 ? $0 : nil }
        }
        guard let address else { return nil }
        self.init(ip: address, port: port)
    }

    public var description: String {
        ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}

/// Strict port numbers: decimal digits only, no sign, no leading zero, 1-65535.
enum PortText {
    static func parse(_ text: some StringProtocol) -> UInt16? {
        let utf8 = text.utf8
        guard (1...5).contains(utf8.count),
              utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              utf8.first != UInt8(ascii: "0"),
              let value = Int(text), value <= 65535 else { return nil }
        return UInt16(value)
    }
}
