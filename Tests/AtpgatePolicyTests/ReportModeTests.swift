import AtpgateNet
import AtpgatePolicy
import Testing

/// `mode: report` relaxes only the default deny; everything else refuses as in enforce mode.
struct ReportModeTests {
    static let yaml = """
        version: 1
        mode: report
        inspection:
          hosts: ["api.example.com"]
          ca: {cert: ca.pem, key: ca-key.pem}
          clients: {ca: clients-ca.pem}
        allow:
          - "a.example.com"
          - "https://api.example.com/v1/*"
          - "http://pki.example.com/crl/*"
        deny:
          - "evil.example.com"
        networks:
          deny: ["203.0.113.0/24"]

        """
    static let report = try! Fixture.policy(yaml)
    static let enforce = try! Fixture.policy(yaml.replacing("mode: report", with: "mode: enforce"))

    @Test(arguments: [("b.example.com", UInt16(443), nil), ("a.example.com", 8443, nil),
                      ("pki.example.com", 80, "/other"), ("c.example.com", 80, "/")] as [(String, UInt16, String?)])
    func defaultDenyIsReported(host: String, port: UInt16, path: String?) throws {
        let request = try Fixture.request(host, port, path: path)
        let decision = Self.report.decide(request)
        #expect(decision.verdict == .allow)
        #expect(decision.isAllowed)
        #expect(decision.isReported)
        #expect(decision.mode == .report)
        // The rule and reason that would have denied it, for the log.
        #expect(decision.rule.text == "default")
        #expect(decision.reason == "no allow rule matches \(host):\(port)")

        let enforced = Self.enforce.decide(request)
        #expect(enforced.verdict == .deny)
        #expect(!enforced.isReported)
        #expect(enforced.mode == .enforce)
        #expect(enforced.reason == decision.reason)
    }

    @Test func explicitDenyRuleStillDenies() throws {
        let decision = Self.report.decide(try Fixture.request("evil.example.com", 443))
        #expect(decision.verdict == .deny)
        #expect(!decision.isReported)
        #expect(decision.mode == .enforce)
        #expect(decision.rule.text == "atpgate.yaml:12")
    }

    @Test func allowedByRuleIsNotReported() throws {
        let decision = Self.report.decide(try Fixture.request("a.example.com", 443))
        #expect(decision.verdict == .allow)
        #expect(!decision.isReported)
        #expect(decision.rule.text == "atpgate.yaml:8")
    }

    @Test func invalidPathStillDenied() throws {
        let decision = Self.report.decide(try Fixture.request("pki.example.com", 80, path: "/crl/../admin"))
        #expect(decision.verdict == .deny)
        #expect(decision.rule.text == "path")
        #expect(!decision.isReported)
    }

    @Test(arguments: ["10.1.2.3", "::ffff:10.1.2.3", "192.0.2.1"])
    func clientCheckUnchanged(address: String) throws {
        let decision = Self.report.isClientAllowed(try Fixture.address(address))
        #expect(decision.verdict == .deny)
        #expect(!decision.isReported)
    }

    @Test(arguments: [("10.0.0.1", "builtin:10.0.0.0/8"), ("127.0.0.1", "builtin:127.0.0.0/8"),
                      ("203.0.113.9", "atpgate.yaml:14")])
    func vettingUnchanged(address: String, rule: String) throws {
        let ip = try Fixture.address(address)
        #expect(Self.report.vet([ip], host: .name("b.example.com")) == .denied(address: ip, rule: RuleReference(rule)))
    }

    @Test func reportedConnectToInspectedHostIsInspected() throws {
        // No HOST:PORTS rule allows api.example.com:443 (only an https:// rule for /v1/*), and the https:// rule
        // does allow the CONNECT: use a port it does not name to reach the default deny.
        let inspected = Self.report.decide(try Fixture.request("api.example.com", 443))
        #expect(inspected.isAllowed && inspected.inspected && !inspected.isReported)

        let policy = try Fixture.policy("""
            version: 1
            mode: report
            inspection:
              hosts: ["api.example.com"]
              ca: {cert: ca.pem, key: ca-key.pem}
              clients: {ca: clients-ca.pem}
            allow: ["a.example.com"]
            """)
        let reported = policy.decide(try Fixture.request("api.example.com", 443))
        #expect(reported.isReported)
        #expect(reported.inspected)
        // Inside, the inspector's path checks still refuse: decideInner knows no report mode.
        let inner = policy.decideInner(host: .name("api.example.com"), port: 443, path: "/v1/x")
        #expect(inner.outcome == .deny)
        #expect(!inner.decision.isReported)
        #expect(policy.decideInner(host: .name("api.example.com"), port: 443, path: "/a/../b").outcome == .invalidPath)

        let elsewhere = policy.decide(try Fixture.request("api.example.com", 8080))
        #expect(elsewhere.isReported && !elsewhere.inspected)
        let other = policy.decide(try Fixture.request("b.example.com", 443))
        #expect(other.isReported && !other.inspected)
        // A reported plain-HTTP request is never inspected.
        #expect(!policy.decide(try Fixture.request("api.example.com", 80, path: "/")).inspected)
    }
}
