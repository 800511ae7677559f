import AtpgateNet
import AtpgatePolicy
import Testing

/// The `pac:` block and the allowed-host read API the PAC file and the bypass check use.
struct PACSettingsTests {
    @Test func fullBlock() throws {
        let policy = try Fixture.policy("""
            version: 1
            pac: {proxy: "Proxy.Corp.Example.:3128", bypass: ["<local>", "*.corp.example"], others: proxy}
            """)
        let pac = try #require(policy.pac)
        #expect(pac.proxy == ProxyAddress(host: .name("proxy.corp.example"), port: 3128))
        #expect(pac.proxy?.description == "proxy.corp.example:3128")
        #expect(pac.bypass == ["<local>", "*.corp.example"])
        #expect(pac.others == .proxy)
        #expect(policy.summary.contains("pac proxy proxy.corp.example:3128 bypass <local>;*.corp.example others proxy"))
    }

    @Test func defaults() throws {
        #expect(try Fixture.policy("version: 1\n").pac == nil)
        let pac = try #require(try Fixture.policy("version: 1\npac: {}\n").pac)
        #expect(pac == PACSettings(proxy: nil, bypass: [], others: .direct))
        #expect(try Fixture.policy("version: 1\npac: {bypass: \"<local>\"}\n").pac?.bypass == ["<local>"])
    }

    @Test(arguments: [("10.0.0.5:3128", "10.0.0.5:3128"), ("[2001:DB8::5]:8080", "[2001:db8::5]:8080"),
                      ("a:1", "a:1"), ("proxy:65535", "proxy:65535")])
    func proxyAddresses(text: String, expected: String) {
        #expect(ProxyAddress(text)?.description == expected)
    }

    @Test(arguments: ["proxy", "proxy:", "proxy:0", "proxy:65536", "proxy:03128", ":3128", "2001:db8::5:3128",
                      "http://proxy:3128", "a b:1", "127.1:3128", "proxy:+1", ""])
    func badProxyAddresses(text: String) {
        #expect(ProxyAddress(text) == nil)
    }

    typealias Case = ErrorCase

    @Test(arguments: [
        Case("version: 1\npac: {proxy: a:1, other: direct}\n", 2, 19, "unknown key 'other' in pac (did you mean 'others'?)"),
        Case("version: 1\npac: {proxy: \"a\"}\n", 2, 14, "pac.proxy must be HOST:PORT ([v6]:PORT for IPv6), got 'a'"),
        Case("version: 1\npac: {others: deny}\n", 2, 15, "pac.others must be direct or proxy, got 'deny'"),
        Case("version: 1\npac: {bypass: [\"a;b\"]}\n", 2, 16, "pac.bypass entry 'a;b' must be printable ASCII"),
        Case("version: 1\npac: {bypass: [\"a b\"]}\n", 2, 16, "pac.bypass entry 'a b'"),
        Case("version: 1\npac: {bypass: [\"\"]}\n", 2, 16, "pac.bypass entry ''"),
        Case("version: 1\npac: {bypass: [\"é.example\"]}\n", 2, 16, "pac.bypass entry"),
        Case("version: 1\npac: {bypass: }\n", 2, 15, "pac.bypass must be a string or a list of strings"),
        Case("version: 1\npac: [a]\n", 2, 6, "pac must be a mapping"),
        Case("version: 1\npca: {}\n", 2, 1, "(did you mean 'pac'?)"),
    ])
    func errors(_ test: Case) throws {
        test.check(try #require(Fixture.loadError(test.yaml)))
    }

    @Test func allowedHostPatterns() throws {
        let policy = try Fixture.policy(allow: ["a.example:443", "*.blob.core.windows.net:443", "a.example:80",
                                                "http://crl.example/pki/*", "192.0.2.10:443", "10.1.0.0/16:443",
                                                "[2001:db8::1]:443"],
                                        deny: ["evil.blob.core.windows.net"])
        #expect(policy.allowedHostPatterns == [
            .exact("a.example"), .suffix("blob.core.windows.net"), .exact("crl.example"),
            .network(IPNetwork("192.0.2.10/32")!), .network(IPNetwork("10.1.0.0/16")!), .network(IPNetwork("2001:db8::1/128")!),
        ])
    }

    @Test func allowedHostPatternsIncludeAtpExpansion() throws {
        let policy = try AtpFixture.policy("version: 1\natp: {instance: contoso-corp, locations: [Europe]}\n")
        #expect(policy.allowedHostPatterns.contains(.exact("contoso-corpsensorapi.atp.azure.com")))
        #expect(policy.allowedHostPatterns.contains(.exact("eu1.atp.azure.com")))
    }
}
