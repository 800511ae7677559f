import AtpgateNet
import AtpgatePolicy
import Testing

/// Destination decisions: default deny, deny beats allow, exact/wildcard/IP/path matching.
struct DecisionTests {
    static let yaml = """
        version: 1
        allow:
          - "contoso-corpsensorapi.atp.azure.com:443"
          - "*.blob.core.windows.net:443"
          - "http://www.microsoft.com/pkiops/*"
          - "http://crl.example.com/root.crl"
          - "multi.example.com:80,443,8000-8100"
          - "*.atp.azure.com:443"
          - "10.0.0.0/8:443"
          - "[2001:db8::/32]:443"
          - "203.0.113.7"
          - "any.example.com:*"
        deny:
          - "evil.atp.azure.com:*"
          - "bad.blob.core.windows.net:443"
          - "10.9.0.0/16"
          - "http://www.microsoft.com/pkiops/private/*"
        """

    static let policy = try! PolicyLoader.parse(yaml: yaml, file: "/etc/atpgate/atpgate.yaml")

    struct Case: Sendable, CustomTestStringConvertible {
        let host: String
        let port: UInt16
        let path: String?
        let verdict: Verdict
        let rule: String
        var testDescription: String { "\(host):\(port)\(path ?? "") -> \(verdict) \(rule)" }
        init(_ host: String, _ port: UInt16, _ path: String?, _ verdict: Verdict, _ rule: String) {
            self.host = host; self.port = port; self.path = path; self.verdict = verdict; self.rule = rule
        }
        init(_ host: String, _ port: UInt16, _ verdict: Verdict, _ rule: String) {
            self.init(host, port, nil, verdict, rule)
        }
    }

    @Test(arguments: [
        // exact names
        Case("contoso-corpsensorapi.atp.azure.com", 443, .allow, "atpgate.yaml:3"),
        Case("CONTOSO-corpsensorapi.atp.azure.com.", 443, .allow, "atpgate.yaml:3"),
        Case("contoso-corpsensorapi.atp.azure.com", 80, .deny, "default"),
        Case("x.contoso-corpsensorapi.atp.azure.com", 443, .allow, "atpgate.yaml:8"),  // via *.atp.azure.com
        // wildcards: one or more labels, never the apex
        Case("acct.blob.core.windows.net", 443, .allow, "atpgate.yaml:4"),
        Case("a.b.blob.core.windows.net", 443, .allow, "atpgate.yaml:4"),
        Case("blob.core.windows.net", 443, .deny, "default"),
        Case("xblob.core.windows.net", 443, .deny, "default"),
        Case("atp.azure.com", 443, .deny, "default"),
        // deny beats allow
        Case("evil.atp.azure.com", 443, .deny, "atpgate.yaml:14"),
        Case("evil.atp.azure.com", 80, .deny, "atpgate.yaml:14"),
        Case("bad.blob.core.windows.net", 443, .deny, "atpgate.yaml:15"),
        Case("sub.evil.atp.azure.com", 443, .allow, "atpgate.yaml:8"),   // exact deny is exact
        // ports
        Case("multi.example.com", 80, .allow, "atpgate.yaml:7"),
        Case("multi.example.com", 8050, .allow, "atpgate.yaml:7"),
        Case("multi.example.com", 8101, .deny, "default"),
        Case("multi.example.com", 22, .deny, "default"),
        Case("any.example.com", 1, .allow, "atpgate.yaml:12"),
        Case("any.example.com", 65535, .allow, "atpgate.yaml:12"),
        // default deny
        Case("example.com", 443, .deny, "default"),
        // IP targets only match IP rules
        Case("10.1.2.3", 443, .allow, "atpgate.yaml:9"),
        Case("10.1.2.3", 80, .deny, "default"),
        Case("10.9.1.1", 443, .deny, "atpgate.yaml:16"),
        Case("[2001:db8:1::5]", 443, .allow, "atpgate.yaml:10"),
        Case("[2001:db9::5]", 443, .deny, "default"),
        Case("203.0.113.7", 443, .allow, "atpgate.yaml:11"),
        Case("203.0.113.8", 443, .deny, "default"),
        Case("[::ffff:10.9.1.1]", 443, .deny, "atpgate.yaml:16"),   // deny sees the embedded IPv4
        Case("[::ffff:10.1.2.3]", 443, .deny, "default"),           // allow does not
        // path rules: plain HTTP only, port 80, segment-boundary prefix, exact otherwise
        Case("www.microsoft.com", 80, "/pkiops/certs/x.crt", .allow, "atpgate.yaml:5"),
        Case("www.microsoft.com", 80, "/pkiops/a/b", .allow, "atpgate.yaml:5"),
        Case("www.microsoft.com", 80, "/pkiops/", .allow, "atpgate.yaml:5"),
        Case("www.microsoft.com", 80, "/pkiops", .deny, "default"),
        Case("www.microsoft.com", 80, "/pkiopsother/x", .deny, "default"),
        Case("www.microsoft.com", 80, "/PKIOPS/x", .deny, "default"),           // case-sensitive
        Case("www.microsoft.com", 80, "/pkiops/x?a=/../b", .allow, "atpgate.yaml:5"),  // query ignored
        Case("www.microsoft.com", 443, "/pkiops/x", .deny, "default"),
        Case("www.microsoft.com", 80, "/pkiops/private/key", .deny, "atpgate.yaml:17"),
        Case("www.microsoft.com", 80, nil, .deny, "default"),                   // CONNECT never matches a path rule
        Case("crl.example.com", 80, "/root.crl", .allow, "atpgate.yaml:6"),
        Case("crl.example.com", 80, "/root.crl?x=1", .allow, "atpgate.yaml:6"),
        Case("crl.example.com", 80, "/root.crl/x", .deny, "default"),
        Case("crl.example.com", 80, "/root.crlx", .deny, "default"),
        // host rules match plain HTTP too
        Case("multi.example.com", 80, "/anything", .allow, "atpgate.yaml:7"),
        // invalid paths fail closed even if the engine forgot to validate
        Case("www.microsoft.com", 80, "/pkiops/../admin", .deny, "path"),
    ])
    func decides(_ c: Case) throws {
        let decision = Self.policy.decide(try Fixture.request(c.host, c.port, path: c.path))
        #expect(decision.verdict == c.verdict)
        #expect(decision.rule.text == c.rule)
        #expect(decision.mode == .enforce)
        #expect(decision.clientIdentity == nil)
        #expect(!decision.reason.contains("\n"))
    }

    @Test func reasonsNameTheRule() throws {
        let denied = Self.policy.decide(try Fixture.request("evil.atp.azure.com", 443))
        #expect(denied.reason == "denied by rule atpgate.yaml:14 (deny evil.atp.azure.com:*)")
        let allowed = Self.policy.decide(try Fixture.request("acct.blob.core.windows.net", 443))
        #expect(allowed.reason == "allowed by rule atpgate.yaml:4 (allow *.blob.core.windows.net:443)")
        let missed = Self.policy.decide(try Fixture.request("example.com", 443))
        #expect(missed.reason == "no allow rule matches example.com:443")
        let missedV6 = Self.policy.decide(try Fixture.request("[2001:db9::5]", 443))
        #expect(missedV6.reason == "no allow rule matches [2001:db9::5]:443")
    }

    @Test func emptyAllowDeniesEverything() throws {
        let policy = try Fixture.policy("version: 1\nallow: []\n")
        #expect(policy.decide(try Fixture.request("example.com", 443)).rule.text == "default")
        #expect(policy.decide(try Fixture.request("10.0.0.1", 443)).verdict == .deny)
    }

    @Test func firstDeclaredMatchingRuleIsReported() throws {
        let policy = try Fixture.policy(allow: ["*.example.com:443", "a.example.com:443", "*.a.example.com:*"])
        #expect(policy.decide(try Fixture.request("x.a.example.com", 443)).rule.text == "atpgate.yaml:2")
    }

    @Test func nameRuleNeverMatchesIPAndWildcardNeverMatchesIP() throws {
        let policy = try Fixture.policy(allow: ["*.com:443", "localhost:443"])
        #expect(policy.decide(try Fixture.request("127.0.0.1", 443)).verdict == .deny)
        #expect(policy.decide(try Fixture.request("localhost", 443)).verdict == .allow)
    }
}
