import AtpgateNet
import AtpgatePolicy

/// Why a peeked tunnel was refused (`tls.sni: enforce`): the access log's error token and a one-line reason.
/// The tokens are a contract with operators' tooling.
struct HelloRefusal: Sendable, Equatable {
    enum Token: String, Sendable {
        case sniMismatch = "sni-mismatch"
        case noSNI = "no-sni"
        case notTLS = "not-tls"
        case helloTooLarge = "hello-too-large"
        case helloTimeout = "hello-timeout"
    }

    let token: Token
    let reason: String

    /// The rule every refusal names in the log.
    static let rule = "tls.sni"

    /// The fatal alert the client gets before the close (RFC 8446 §6.2): unrecognized_name for a server name
    /// the proxy will not reach, decode_error for bytes that are no ClientHello, handshake_failure otherwise.
    var alert: [UInt8] {
        let description: UInt8
        switch token {
        case .sniMismatch, .noSNI: description = 112
        case .notTLS: description = 50
        case .helloTooLarge, .helloTimeout: description = 40
        }
        // A TLS 1.2-framed alert record: level fatal (2), then the description.
        return [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]
    }
}

/// The SNI rule (issue 10): the server name a ClientHello offers must be the CONNECT host, normalised the
/// same way (lower case, no trailing dot). Anything that is not a valid ASCII host name is refused; for a
/// CONNECT to an IP literal the IP rule decided, so a hello without SNI is fine and one with an SNI is
/// refused (it would name a host the policy never saw). With ECH the outer SNI is what is checked. Pure.
enum SNICheck {
    /// nil when the hello may go on.
    static func refusal(connectHost: Host, serverName: [UInt8]?) -> HelloRefusal? {
        switch connectHost {
        case .name(let name):
            guard let serverName else {
                return HelloRefusal(token: .noSNI, reason: "the TLS ClientHello names no server (no SNI); the CONNECT was for \(name)")
            }
            // The common case without allocating: the SNI is the CONNECT host (already normalised and
            // validated) up to ASCII case and one trailing dot.
            if sameName(serverName, name) { return nil }
            guard let offered = normalizedName(serverName) else {
                return HelloRefusal(token: .sniMismatch,
                                    reason: "the TLS ClientHello's SNI \(shown(serverName)) is not a valid host name; the CONNECT was for \(name)")
            }
            guard offered == name else {
                return HelloRefusal(token: .sniMismatch,
                                    reason: "the TLS ClientHello names \(HostText.quoted(offered)); the CONNECT was for \(name)")
            }
            return nil
        case .ip(let address):
            guard let serverName else { return nil }
            return HelloRefusal(token: .sniMismatch,
                                reason: "the TLS ClientHello names \(shown(serverName)) in a tunnel to the IP address \(address)")
        }
    }

    /// The SNI as a normalised DNS name, or nil: bytes outside printable ASCII, an IP literal (RFC 6066
    /// §3 forbids them in SNI), or anything `Host.normalize` refuses.
    static func normalizedName(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        guard case .name(let name)? = try? Host.normalize(String(decoding: bytes, as: UTF8.self)) else { return nil }
        return name
    }

    /// `bytes`, lower-cased and without one trailing dot, equal to the normalised `name`.
    static func sameName(_ bytes: [UInt8], _ name: String) -> Bool {
        var count = bytes.count
        if count > 0 && bytes[count - 1] == UInt8(ascii: ".") { count -= 1 }
        var index = 0
        for expected in name.utf8 {
            guard index < count else { return false }
            var byte = bytes[index]
            if byte >= 0x41 && byte <= 0x5A { byte += 0x20 }
            guard byte == expected else { return false }
            index += 1
        }
        return index == count
    }

    private static func shown(_ bytes: [UInt8]) -> String {
        HostText.quoted(String(decoding: bytes.prefix(255), as: UTF8.self))
    }
}
