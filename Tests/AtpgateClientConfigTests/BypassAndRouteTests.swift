import AtpgateClientConfig
import AtpgateNet
import AtpgatePolicy
import AtpgateWindows
import Testing

/// WinINET bypass matching and the "does this route the ATP hosts through us" check.
struct BypassAndRouteTests {
    @Test(arguments: [
        ("<local>", "intranet", true), ("<local>", "intranet.corp", false), ("<local>", "10.0.0.1", false),
        ("*.corp.example", "a.corp.example", true), ("*.corp.example", "corp.example", false),
        ("*.CORP.example", "A.corp.EXAMPLE", true), ("10.*", "10.1.2.3", true), ("10.*", "110.1.2.3", false),
        ("a.example", "a.example", true), ("a.example", "b.a.example", false), ("*", "anything", true),
        ("https://a.example", "a.example", true), ("a.example:443", "a.example", true), ("*a*b*", "xbxxa", false),
        ("*a*b*", "xaxxb", true), ("a*", "a", true),
    ])
    func hostMatching(entry: String, host: String, matches: Bool) {
        #expect((BypassList(entry).match(host: host) != nil) == matches)
    }

    @Test func separators() {
        #expect(BypassList("a; b,c\t<local>;;").entries == ["a", "b", "c", "<local>"])
    }

    @Test(arguments: [
        ("*.windows.net", AllowedHost.suffix("blob.core.windows.net"), true),
        ("*", .suffix("blob.core.windows.net"), true),
        ("*.blob.core.windows.net", .suffix("blob.core.windows.net"), true),
        ("x.blob.core.windows.net", .suffix("blob.core.windows.net"), true),
        ("a*b.core.windows.net", .suffix("blob.core.windows.net"), true),
        ("blob.core.windows.net", .suffix("blob.core.windows.net"), false),
        ("*.corp.example", .suffix("blob.core.windows.net"), false),
        ("<local>", .suffix("blob.core.windows.net"), false),
        ("*.azure.com", .exact("contoso-corpsensorapi.atp.azure.com"), true),
        ("<local>", .exact("contoso-corpsensorapi.atp.azure.com"), false),
        ("20.50.1.2", .network(IPNetwork("20.50.1.2/32")!), true),
        ("20.*", .network(IPNetwork("20.50.0.0/16")!), true),
        ("20.50.9.9", .network(IPNetwork("20.50.0.0/16")!), true),
        ("21.*", .network(IPNetwork("20.50.0.0/16")!), false),
    ])
    func patternMatching(entry: String, pattern: AllowedHost, matches: Bool) {
        #expect((BypassList(entry).match(pattern) != nil) == matches)
    }

    @Test(arguments: [("a:1", "https", "a:1"), ("http=a:1;https=b:2", "https", "b:2"), ("http=a:1", "https", nil),
                      ("HTTPS=b:2 http=a:1", "http", "a:1")])
    func proxyServers(text: String, scheme: String, expected: String?) {
        #expect(ProxyServerList(text).server(for: scheme) == expected)
    }

    static func policy(pac: String = "{proxy: \"proxy.corp.example:3128\"}") throws -> Policy {
        try PolicyLoader.parse(yaml: """
            version: 1
            allow: ["contoso-corpsensorapi.atp.azure.com:443", "*.blob.core.windows.net:443", "crl.microsoft.com:80"]
            pac: \(pac)
            """, file: "atpgate.yaml")
    }

    static func settings(_ flags: ConnectionFlags, _ proxy: String, _ bypass: String = "<local>") -> ConnectionSettings {
        ConnectionSettings(kind: .wininet, flags: flags, proxyServer: proxy, bypassList: bypass)
    }

    @Test func clean() throws {
        let check = RouteCheck(Self.settings([.direct, .proxy], "Proxy.corp.example:3128", "<local>;*.corp.example"), policy: try Self.policy())
        #expect(check.findings.isEmpty)
        #expect(check.notes.isEmpty)
        let http = RouteCheck(Self.settings([.direct, .proxy], "http=proxy.corp.example:3128;https=http://proxy.corp.example:3128/"),
                              policy: try Self.policy())
        #expect(http.isClean, "\(http.findings)")
    }

    @Test(arguments: [
        (settings([.direct], ""), "the proxy flag is not set"),
        (settings([.direct, .proxy], ""), "no proxy server"),
        (settings([.direct, .proxy], "other:3128"), "https goes to other:3128, not to this proxy (pac.proxy proxy.corp.example:3128)"),
        (settings([.direct, .proxy], "proxy.corp.example:8080"), "not to this proxy"),
        (settings([.direct, .proxy], "http=proxy.corp.example:3128"), "no proxy for https"),
        (settings([.direct, .proxy], "proxy.corp.example:3128", "<local>;*.azure.com"), "bypass entry '*.azure.com' sends allowed host contoso-corpsensorapi.atp.azure.com around the proxy"),
        (settings([.direct, .proxy], "proxy.corp.example:3128", "*.windows.net"), "hosts *.blob.core.windows.net"),
        (settings([.direct, .proxy], "proxy.corp.example:3128", "crl.microsoft.com"), "allowed host crl.microsoft.com"),
    ])
    func findings(settings: ConnectionSettings, fragment: String) throws {
        let check = RouteCheck(settings, policy: try Self.policy())
        #expect(check.findings.contains { $0.contains(fragment) }, "\(check.findings)")
    }

    @Test func notes() throws {
        var settings = Self.settings([.direct, .proxy, .autoConfigURL, .autoDetect], "elsewhere:1")
        settings.autoConfigURL = "http://wpad/proxy.pac"
        let check = RouteCheck(settings, policy: try Self.policy(pac: "{}"))
        #expect(check.findings.isEmpty, "no pac.proxy: the address is not compared")
        #expect(check.notes.count == 3)
    }
}
