import AtpgateNet
import AtpgatePolicy
import AtpgateWindows

/// Whether settings send the policy's allowed hosts (the ATP sensor and console hosts, the CRL
/// endpoints...) through this proxy and not around it. A finding is something that routes them
/// elsewhere; a note is something the check could not judge (a PAC script, WPAD).
public struct RouteCheck: Sendable, Equatable {
    public var findings: [String] = []
    public var notes: [String] = []

    public var isClean: Bool { findings.isEmpty }

    public init(_ settings: ConnectionSettings, policy: Policy) {
        if !settings.flags.contains(.proxy) {
            findings.append("the proxy flag is not set (flags \(settings.flags.names.joined(separator: ", "))): "
                            + "connections do not use the proxy server")
        } else if settings.proxyServer.isEmpty {
            findings.append("the proxy flag is set but no proxy server is given")
        } else {
            checkServers(ProxyServerList(settings.proxyServer), expected: policy.pac?.proxy)
        }
        let bypass = BypassList(settings.bypassList)
        for pattern in policy.allowedHostPatterns {
            if let entry = bypass.match(pattern) {
                findings.append("bypass entry \(HostText.quoted(entry)) sends allowed \(RouteCheck.describe(pattern)) around the proxy")
            }
        }
        if settings.flags.contains(.autoConfigURL) {
            notes.append("auto-config URL \(HostText.quoted(settings.autoConfigURL)) is used before the proxy server; its answers are not checked")
        }
        if settings.flags.contains(.autoDetect) {
            notes.append("auto-detect (WPAD) is on: a discovered PAC script is used before the proxy server; not checked")
        }
    }

    /// The sensor speaks HTTPS to the cloud and plain HTTP to the CRL endpoints: both must go to pac.proxy.
    private mutating func checkServers(_ servers: ProxyServerList, expected: ProxyAddress?) {
        for scheme in ["https", "http"] {
            guard let server = servers.server(for: scheme) else {
                findings.append("no proxy for \(scheme): \(scheme) connections go direct")
                continue
            }
            guard let expected else { continue }
            guard let address = ProxyServerList.address(server) else {
                findings.append("the \(scheme) proxy \(HostText.quoted(server)) is not HOST:PORT")
                continue
            }
            if address != expected {
                findings.append("\(scheme) goes to \(address), not to this proxy (pac.proxy \(expected))")
            }
        }
        if expected == nil {
            notes.append("the policy has no pac.proxy: the proxy address was not compared")
        }
    }

    static func describe(_ pattern: AllowedHost) -> String {
        switch pattern {
        case .exact(let name): return "host \(name)"
        case .suffix(let suffix): return "hosts *.\(suffix)"
        case .network(let network): return "network \(network)"
        }
    }
}
