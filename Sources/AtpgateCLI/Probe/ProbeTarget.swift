/// What `atpgate probe URL` connects to: `http://HOST[:PORT][/PATH]`, parsed strictly enough that the
/// request line and `Host` field built from it can never carry a space, a control byte or a second line.
struct ProbeTarget: Equatable {
    /// The name or IP literal to resolve (an IPv6 literal without its brackets).
    let host: String
    let port: UInt16
    /// The request target: the URL's path and query ("/" when the URL has none); no fragment.
    let path: String
    /// The `Host` field: the authority as written in the URL (brackets kept).
    let authority: String

    /// Why a URL was refused, as the one-line text the command prints.
    struct Refusal: Error, Equatable, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func parse(_ url: String) throws(Refusal) -> ProbeTarget {
        // Only visible ASCII: the URL ends up verbatim in the request head.
        guard !url.isEmpty, url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw Refusal("not a URL (spaces, control characters or non-ASCII)")
        }
        let lower = url.lowercased()
        if lower.hasPrefix("https://") {
            throw Refusal("https is not supported: the probe speaks plain HTTP (point it at the admin listener, e.g. http://127.0.0.1:9090/healthz)")
        }
        guard lower.hasPrefix("http://") else { throw Refusal("only http:// URLs are supported") }
        var rest = Substring(url.dropFirst("http://".count))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        guard !authority.contains("@") else { throw Refusal("credentials in the URL are not supported") }

        let host: Substring, portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Refusal("unclosed [ in the host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { portText = nil }
            else if after.hasPrefix(":") { portText = after.dropFirst() }
            else { throw Refusal("unexpected text after the IPv6 address") }
            guard host.contains(":") else { throw Refusal("[...] must hold an IPv6 address") }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
                portText = nil
            }
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }) else {
                throw Refusal("invalid host '\(host)'")
            }
        }
        guard !host.isEmpty else { throw Refusal("no host in the URL") }
        var port: UInt16 = 80
        if let portText {
            guard let value = UInt16(portText), value > 0 else { throw Refusal("invalid port '\(portText)'") }
            port = value
        }
        return ProbeTarget(host: String(host), port: port, path: path, authority: String(authority))
    }
}
