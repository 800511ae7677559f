import AtpgatePolicy
import Testing

/// Every load error names file:line:column of the offending node and one line of text.
struct LoaderErrorTests {
    typealias Case = ErrorCase

    @Test(arguments: [
        // unknown keys, with and without a suggestion
        Case("version: 1\nalow: []\n", 2, 1, "unknown key 'alow' in the policy file (did you mean 'allow'?)"),
        Case("version: 1\ndney: []\n", 2, 1, "(did you mean 'deny'?)"),
        Case("version: 1\nfrobnicate: 1\n", 2, 1, "unknown key 'frobnicate' in the policy file"),
        Case("version: 1\natp: {}\n", 2, 6, "atp needs 'instance'"),
        Case("version: 1\non_reload: x\n", 2, 12, "on_reload must be keep or cut-denied, got 'x'"),
        Case("version: 1\nonreload: keep\n", 2, 1, "(did you mean 'on_reload'?)"),
        Case("version: 1\nnetworks:\n  denny: []\n", 3, 3, "unknown key 'denny' in networks (did you mean 'deny'?)"),
        Case("version: 1\ntimeouts: {head: 1s, dsn: 2s}\n", 2, 22, "unknown key 'dsn' in timeouts (did you mean 'dns'?)"),
        Case("version: 1\nlimits:\n  headbytes: 2048\n", 3, 3, "(did you mean 'head_bytes'?)"),
        // version
        Case("allow: []\n", 1, 1, "missing required key 'version'"),
        Case("version: 2\n", 1, 10, "version must be 1"),
        Case("version: \"1\"\n", 1, 10, "version must be 1"),
        Case("version: 1.0\n", 1, 10, "version must be 1"),
        // wrong types
        Case("- version\n", 1, 1, "the policy file must be a mapping"),
        Case("version: 1\nallow: {a: 1}\n", 2, 8, "allow must be a string or a list of strings"),
        Case("version: 1\nallow:\n", 2, 7, "use [] for none"),
        Case("version: 1\ndeny: [[a]]\n", 2, 8, "each entry of deny must be a string"),
        Case("version: 1\nnetworks: [a]\n", 2, 11, "networks must be a mapping"),
        Case("version: 1\ntimeouts: 5s\n", 2, 11, "timeouts must be a mapping"),
        Case("version: 1\nhosts: [a]\n", 2, 8, "hosts must be a mapping"),
        Case("version: 1\n[a]: 1\n", 2, 1, "keys in the policy file must be strings"),
        // bad values
        Case("version: 1\nallow:\n  - ok.example.com\n  - \"*.\"\n", 4, 5, "bad host in rule"),
        Case("version: 1\nclients: [\"10.0.0.0/33\"]\n", 2, 11, "bad CIDR '10.0.0.0/33' in clients"),
        Case("version: 1\nnetworks:\n  deny: [\"300.0.0.0/8\"]\n", 3, 10, "bad CIDR '300.0.0.0/8' in networks.deny"),
        Case("version: 1\nnetworks:\n  allow: nope\n", 3, 10, "bad CIDR 'nope' in networks.allow"),
        Case("version: 1\nlisten: \"localhost:3128\"\n", 2, 9, "bad listen address"),
        Case("version: 1\nlisten: []\n", 2, 9, "listen must not be empty"),
        Case("version: 1\nlisten: [\"127.0.0.1:1\", \"127.0.0.1:1\"]\n", 2, 25, "duplicate listen address"),
        Case("version: 1\nhosts:\n  a.com: 10.0.0.256\n", 3, 10, "bad IP address '10.0.0.256'"),
        Case("version: 1\nhosts:\n  10.0.0.1: 10.0.0.2\n", 3, 3, "must be a name"),
        Case("version: 1\nhosts:\n  \"*.a.com\": 10.0.0.2\n", 3, 3, "bad host name in hosts"),
        Case("version: 1\nhosts:\n  a.com: []\n", 3, 10, "needs at least one address"),
        Case("version: 1\nhosts:\n  A.com: 1.1.1.1\n  a.com.: 2.2.2.2\n", 4, 3, "duplicate host 'a.com'"),
        Case("version: 1\ntimeouts:\n  idle: 0s\n", 3, 9, "bad duration '0s' for timeouts.idle"),
        Case("version: 1\ntimeouts:\n  idle: -5\n", 3, 9, "bad duration"),
        Case("version: 1\ntimeouts:\n  idle: 5 min\n", 3, 9, "bad duration"),
        Case("version: 1\ntimeouts:\n  idle: .inf\n", 3, 9, "bad duration"),
        Case("version: 1\nlimits: {head_bytes: 1023}\n", 2, 22, "from 1024 to 1048576"),
        Case("version: 1\nlimits: {head_bytes: 1048577}\n", 2, 22, "from 1024 to 1048576"),
        Case("version: 1\nlimits: {head_bytes: 16k}\n", 2, 22, "from 1024 to 1048576"),
        Case("version: 1\nlimits: {upstream_keepalive_per_origin: -1}\n", 2, 41, "from 0 to 65536"),
        Case("version: 1\nlimits: {upstream_keepalive_total: 65537}\n", 2, 36, "from 0 to 65536"),
        Case("version: 1\nlimits: {upstream_keepalive: 8}\n", 2, 10, "unknown key 'upstream_keepalive' in limits"),
        Case("version: 1\ntimeouts: {upstream_keepalive: 0s}\n", 2, 32, "bad duration '0s' for timeouts.upstream_keepalive"),
        Case("version: 1\ntls: {sni: strict}\n", 2, 12, "tls.sni must be enforce, log or off, got 'strict'"),
        Case("version: 1\ntls: {ports: 443}\n", 2, 14, "tls.ports must be a list of port numbers"),
        Case("version: 1\ntls: {ports: [443, 0]}\n", 2, 20, "each entry of tls.ports must be a port number from 1 to 65535"),
        Case("version: 1\ntls: {ports: [\"443\"]}\n", 2, 15, "each entry of tls.ports must be a port number"),
        Case("version: 1\ntls: {ports: [443, 443]}\n", 2, 20, "duplicate port 443 in tls.ports"),
        Case("version: 1\ntls: {snii: log}\n", 2, 7, "(did you mean 'sni'?)"),
        // YAML syntax errors
        Case("version: 1\nallow: [\"a.com\"\n", 3, 1, "YAML syntax error"),
        Case("version: 1\n  bad: indent\n", 2, 6, "YAML syntax error"),
        Case("version: 1\nallow: \"unterminated\n", 3, 1, "YAML syntax error"),
        Case("version: 1\n---\nversion: 1\n", 2, 1, "YAML syntax error"),
        Case("version: 1\nallow: [\"a\u{01}\"]\n", 2, 11, "YAML read error"),
        // duplicate keys point at the repeated key
        Case("version: 1\nallow: []\nallow: []\n", 3, 1, "duplicate key 'allow'"),
        Case("version: 1\ntimeouts: {head: 1s, head: 2s}\n", 2, 22, "duplicate key 'head'"),
        Case("version: 1\nnetworks:\n  deny: []\n  allow: []\n  deny: []\n", 5, 3, "duplicate key 'deny'"),
        Case("version: 1\ndeny: []\ndeny: []\ndeny: []\n", 3, 1, "duplicate key 'deny'"),
        Case("version: 1\n\"allow\": []\nallow: []\n", 3, 1, "duplicate key 'allow'"),
        // empty file
        Case("", 1, 1, "policy file is empty"),
    ])
    func reportsPosition(_ c: Case) throws {
        let error = try #require(Fixture.loadError(c.yaml))
        #expect(error.file == "atpgate.yaml")
        c.check(error)
        #expect(error.description == "atpgate.yaml:\(error.line):\(error.column): \(error.message)")
    }

    @Test func fullExampleFromTheBriefLoads() throws {
        let policy = try Fixture.policy("""
            version: 1                                   # required, must be 1
            listen: ["127.0.0.1:3128", "[::1]:3128"]     # one string or a list
            clients: ["127.0.0.0/8", "::1/128"]
            allow:
              - "contoso-corpsensorapi.atp.azure.com:443"
              - "*.blob.core.windows.net:443"
              - "http://www.microsoft.com/pkiops/*"      # plain-HTTP rule with a path prefix
            deny:
              - "evil.atp.azure.com:*"
            networks:
              deny: ["203.0.113.0/24"]
              allow: ["127.0.0.0/8"]
            hosts:
              contoso-corpsensorapi.atp.azure.com: 127.0.0.1
            timeouts: {head: 10s, dns: 5s, connect: 10s, response: 30s, idle: 300s, grace: 10s, upstream_keepalive: 45s}
            limits: {head_bytes: 16384, upstream_keepalive_per_origin: 0, upstream_keepalive_total: 12}
            """)
        #expect(policy.timeouts.upstreamKeepAlive == 45)
        #expect(policy.tls == TLSPeekSettings())   // sni: enforce on 443 when the block is absent
        let logging = try PolicyLoader.parse(yaml: "version: 1\ntls: {sni: log, ports: [443, 8443]}\n", file: "t.yaml")
        #expect(logging.tls.sni == .log && logging.tls.ports == [443, 8443])
        #expect(logging.tls.peeks(port: 8443) && !logging.tls.enforces(port: 8443) && !logging.tls.peeks(port: 80))
        let off = try PolicyLoader.parse(yaml: "version: 1\ntls: {sni: off}\n", file: "t.yaml")
        #expect(!off.tls.peeks(port: 443))
        #expect(policy.limits.upstreamKeepAlivePerOrigin == 0)
        #expect(policy.limits.upstreamKeepAliveTotal == 12)
        #expect(policy.listen.map(\.description) == ["127.0.0.1:3128", "[::1]:3128"])
        #expect(policy.summary.contains("allow contoso-corpsensorapi.atp.azure.com:443 (atpgate.yaml:5)"))
        #expect(policy.summary.contains("deny evil.atp.azure.com:* (atpgate.yaml:9)"))
        #expect(policy.summary.contains("networks deny 203.0.113.0/24 (atpgate.yaml:11)"))
        #expect(policy.summary.contains("networks allow 127.0.0.0/8 (atpgate.yaml:12)"))
        #expect(policy.summary.contains("networks deny 10.0.0.0/8 (builtin:10.0.0.0/8)"))
        let addresses = try #require(policy.staticAddresses(for: .name("contoso-corpsensorapi.atp.azure.com")))
        #expect(policy.vet(addresses) == .allowed)   // carved out by networks.allow
    }
}
