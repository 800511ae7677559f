/// A real-shaped TLS 1.3 ClientHello for the `--tls-hello` runs (issue 10's peek): what a sensor's first
/// flight looks like to the proxy — one handshake record with SNI, ALPN http/1.1, supported_versions,
/// groups, a key share, signature algorithms — so atpgate's peek does its full work on every tunnel. The
/// sink skips a leading TLS record, so the rest of each scenario's protocol is unchanged.
enum ClientHelloBytes {
    /// `serverName` nil: no server_name extension (an IP-literal target).
    static func make(serverName: String?) -> [UInt8] {
        func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
        func ext(_ type: Int, _ body: [UInt8]) -> [UInt8] { u16(type) + u16(body.count) + body }
        var extensions: [UInt8] = []
        if let serverName {
            let name = Array(serverName.utf8)
            extensions += ext(0x0000, u16(name.count + 3) + [0] + u16(name.count) + name)
        }
        let alpn = Array("http/1.1".utf8)
        extensions += ext(0x0010, u16(alpn.count + 1) + [UInt8(alpn.count)] + alpn)
        extensions += ext(0x002b, [4, 0x03, 0x04, 0x03, 0x03])
        extensions += ext(0x000a, u16(4) + [0x00, 0x1d, 0x00, 0x17])
        extensions += ext(0x0033, u16(36) + [0x00, 0x1d] + u16(32) + [UInt8](repeating: 0x5a, count: 32))
        extensions += ext(0x000d, u16(8) + [0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x01])
        extensions += ext(0x0017, [])
        let ciphers: [UInt8] = [0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30]
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 0x42, count: 32) + [32] + [UInt8](repeating: 0x24, count: 32)
        body += u16(ciphers.count) + ciphers + [1, 0] + u16(extensions.count) + extensions
        let message = [1, 0] + u16(body.count) + body
        return [0x16, 0x03, 0x01] + u16(message.count) + message
    }
}
