import AtpgatePolicy

/// A WinINET proxy server string: one `host:port` for every protocol, or per protocol
/// `http=h:p;https=h:p;socks=h:p`. A protocol with no entry in the second form goes direct.
public struct ProxyServerList: Sendable, Equatable {
    /// The address for every protocol, from the first form.
    public let all: String?
    /// Lower-cased protocol to address, from the second form.
    public let perProtocol: [String: String]

    public init(_ text: String) {
        let entries = text.split(whereSeparator: { $0 == ";" || $0 == " " }).map(String.init)
        if entries.contains(where: { $0.contains("=") }) {
            var map: [String: String] = [:]
            for entry in entries {
                guard let equals = entry.firstIndex(of: "=") else { continue }
                let scheme = entry[..<equals].lowercased()
                if map[scheme] == nil { map[scheme] = String(entry[entry.index(after: equals)...]) }
            }
            all = nil
            perProtocol = map
        } else {
            all = entries.first
            perProtocol = [:]
        }
    }

    /// The proxy WinINET uses for `scheme` ("http", "https"), or nil when it connects directly.
    public func server(for scheme: String) -> String? {
        all ?? perProtocol[scheme.lowercased()]
    }

    /// `address` as a ProxyAddress; WinINET also accepts `http://host:port` and a trailing `/`.
    public static func address(_ text: String) -> ProxyAddress? {
        var rest = Substring(text)
        if rest.lowercased().hasPrefix("http://") { rest = rest.dropFirst(7) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        return ProxyAddress(rest)
    }
}
