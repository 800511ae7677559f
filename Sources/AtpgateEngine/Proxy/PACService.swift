import AtpgateClientConfig
import AtpgateHTTP
import AtpgatePolicy
import AtpgateIO

/// The proxy's own answers to origin-form requests: `GET /proxy.pac` and `GET /wpad.dat` (WPAD),
/// the PAC file built from the policy in force. Anything else sent to the proxy itself stays a 400;
/// admin endpoints will join here.
struct PACService: Sendable {
    static let paths: Set<String> = ["/proxy.pac", "/wpad.dat"]
    static let contentType = "application/x-ns-proxy-autoconfig"

    private let cache = Locked<(policy: ObjectIdentifier, proxy: String, body: [UInt8])?>(nil)

    /// True for a GET or HEAD of a PAC path (the query is ignored).
    static func matches(_ head: HTTPRequestHead) -> Bool {
        guard head.method == "GET" || head.method == "HEAD", head.target.hasPrefix("/") else { return false }
        let path = head.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return paths.contains(path)
    }

    /// The whole response. The proxy named in the file is `pac.proxy` when the policy sets it, else
    /// the address the client used to reach us (its Host header), else `fallbackProxy`. The file is
    /// built once per policy (and proxy name): a reload brings a new policy, so a new file.
    func response(for head: HTTPRequestHead, policy: Policy, fallbackProxy: String) -> [UInt8] {
        let proxy = policy.pac?.proxy?.description
            ?? head.values("Host").first.flatMap(Self.usableHost)
            ?? fallbackProxy
        let body = cache.withLock { cached -> [UInt8] in
            if let cached, cached.policy == ObjectIdentifier(policy), cached.proxy == proxy { return cached.body }
            let text = PACFile.generate(policy: policy, proxy: proxy, others: policy.pac?.others ?? .direct,
                                        bypass: policy.pac?.bypass ?? [])
            let body = Array(text.utf8)
            cached = (ObjectIdentifier(policy), proxy, body)
            return body
        }
        var response = Array(("HTTP/1.1 200 OK\r\nContent-Type: \(Self.contentType)\r\n"
            + "Content-Length: \(body.count)\r\nCache-Control: max-age=300\r\nConnection: close\r\n\r\n").utf8)
        if head.method == "GET" { response += body }
        return response
    }

    /// A Host header usable as the PAC's proxy address: host:port with a port, printable, no quotes.
    static func usableHost(_ value: String) -> String? {
        guard let address = ProxyAddress(value) else { return nil }
        return address.description
    }
}
