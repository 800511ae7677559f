import AtpgateNet

/// How clients reach the proxy, `host:port`, as WinINET's proxy string and a PAC "PROXY" line
/// spell it. The host is normalised like any destination, so "Proxy.Corp.Example." and
/// "proxy.corp.example" are one address when `wininet decode --policy` compares them.
public struct ProxyAddress: Hashable, Sendable, CustomStringConvertible {
    public let host: Host
    public let port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// "proxy.corp.example:3128", "10.0.0.5:3128", "[2001:db8::5]:3128". The port is required:
    /// WinINET falls back to 80 without one, which is never where atpgate listens.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard let colon = text.lastIndex(of: ":"), let port = PortText.parse(text[text.index(after: colon)...]) else {
            return nil
        }
        guard let host = try? Host.normalize(text[..<colon]) else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { "\(host):\(port)" }
}
