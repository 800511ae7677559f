import AtpgateNet
import AtpgatePolicy
import Testing

/// What inspection changes in decisions: which CONNECTs are allowed and inspected, and how each request
/// inside an inspected tunnel is decided (`decideInner`).
struct InspectionDecisionTests {
    static let policy: Policy = {
        let yaml = """
            version: 1
            inspection:
              hosts: ["api.example.com", "all.example.com", "192.0.2.1", "[2001:db8::1]", "*.svc.example.com"]
              ca: {cert: ca.pem, key: ca-key.pem}
              clients: {ca: clients-ca.pem}
            allow:
              - "https://api.example.com/v1/*"
              - "https://api.example.com/health"
              - "https://api.example.com:8443/alt/*"
              - "all.example.com:443"
              - "https://192.0.2.1/x/*"
              - "https://[2001:db8::1]/x/*"
              - "https://*.svc.example.com/ok/*"
              - "plain.example.com:443"
              - "http://api.example.com/plain/*"
            deny:
              - "https://api.example.com/v1/admin/*"
              - "https://all.example.com/secret/*"
              - "all.example.com:9000"

            """
        return try! Fixture.policy(yaml)
    }()

    static func inner(_ host: String, _ port: UInt16, _ path: String) throws -> InnerDecision {
        policy.decideInner(host: try Host.normalize(host), port: port, path: path)
    }

    struct InnerCase: Sendable, CustomTestStringConvertible {
        let host: String
        let port: UInt16
        let path: String
        let outcome: InnerDecision.Outcome
        let rule: String
        var testDescription: String { "\(host):\(port) \(path)" }
        init(_ host: String, _ port: UInt16, _ path: String, _ outcome: InnerDecision.Outcome, _ rule: String) {
            self.host = host; self.port = port; self.path = path; self.outcome = outcome; self.rule = rule
        }
        init(_ host: String, _ path: String, _ outcome: InnerDecision.Outcome, _ rule: String) {
            self.init(host, 443, path, outcome, rule)
        }
    }

    @Test(arguments: [
        // https:// path rules: prefix at a segment boundary, exact, query ignored
        InnerCase("api.example.com", "/v1/items?page=2", .allow, "atpgate.yaml:7"),
        InnerCase("api.example.com", "/v1/", .allow, "atpgate.yaml:7"),
        InnerCase("api.example.com", "/v1", .deny, "default"),
        InnerCase("api.example.com", "/v10/x", .deny, "default"),
        InnerCase("api.example.com", "/health", .allow, "atpgate.yaml:8"),
        InnerCase("api.example.com", "/health?full=1", .allow, "atpgate.yaml:8"),
        InnerCase("api.example.com", "/health/x", .deny, "default"),
        InnerCase("api.example.com", "/HEALTH", .deny, "default"),
        InnerCase("api.example.com", "/", .deny, "default"),
        // canonical form: a decodable escape is the character, allow rules match exactly
        InnerCase("api.example.com", "/%76%31/items", .allow, "atpgate.yaml:7"),
        InnerCase("api.example.com", "/V1/items", .deny, "default"),
        // deny beats allow, in every reading a server could make of the path
        InnerCase("api.example.com", "/v1/admin/users", .deny, "atpgate.yaml:17"),
        InnerCase("api.example.com", "/v1/ADMIN/users", .deny, "atpgate.yaml:17"),
        InnerCase("api.example.com", "/v1/%61dmin/users", .deny, "atpgate.yaml:17"),
        InnerCase("api.example.com", "/v1/admin;jsessionid=1/users", .deny, "atpgate.yaml:17"),
        // ambiguous paths are their own outcome (400), before any rule
        InnerCase("api.example.com", "/api/%2e%2e/x", .invalidPath, "path"),
        InnerCase("api.example.com", "/v1/%2e%2e/admin/x", .invalidPath, "path"),
        InnerCase("api.example.com", "/v1/..;/admin/x", .invalidPath, "path"),
        InnerCase("api.example.com", "/v1//admin", .invalidPath, "path"),
        InnerCase("api.example.com", "/v1/a%2fb", .invalidPath, "path"),
        InnerCase("api.example.com", "v1/x", .invalidPath, "path"),
        InnerCase("api.example.com", "*", .invalidPath, "path"),
        // the port: 443 by default, another when the rule names it
        InnerCase("api.example.com", 8443, "/alt/x", .allow, "atpgate.yaml:9"),
        InnerCase("api.example.com", 8443, "/v1/x", .deny, "default"),
        InnerCase("api.example.com", 443, "/alt/x", .deny, "default"),
        // HOST:443 allows every path; https:// and HOST:PORT denies still apply
        InnerCase("all.example.com", "/anything/at/all?x", .allow, "atpgate.yaml:10"),
        InnerCase("all.example.com", "/", .allow, "atpgate.yaml:10"),
        InnerCase("all.example.com", "/Secret/x", .deny, "atpgate.yaml:18"),
        InnerCase("all.example.com", 8443, "/x", .deny, "default"),
        InnerCase("all.example.com", 9000, "/x", .deny, "atpgate.yaml:19"),
        // inspected addresses and wildcards
        InnerCase("192.0.2.1", "/x/y", .allow, "atpgate.yaml:11"),
        InnerCase("192.0.2.1", "/y", .deny, "default"),
        InnerCase("[2001:db8::1]", "/x/y", .allow, "atpgate.yaml:12"),
        InnerCase("a.svc.example.com", "/ok/1", .allow, "atpgate.yaml:13"),
        InnerCase("svc.example.com", "/ok/1", .deny, "default"),
        // http:// rules speak about plain HTTP only
        InnerCase("api.example.com", "/plain/x", .deny, "default"),
    ])
    func innerRequests(_ c: InnerCase) throws {
        let decision = try Self.inner(c.host, c.port, c.path)
        #expect(decision.outcome == c.outcome, "\(decision.reason)")
        #expect(decision.rule.text == c.rule, "\(decision.reason)")
        #expect(decision.isAllowed == (c.outcome == .allow))
        #expect(decision.decision.verdict == (c.outcome == .allow ? .allow : .deny))
    }

    @Test func innerReasons() throws {
        #expect(try Self.inner("api.example.com", 443, "/v1/x").reason
            == "allowed by rule atpgate.yaml:7 (allow https://api.example.com:443/v1/*)")
        #expect(try Self.inner("api.example.com", 443, "/v1/admin/x").reason
            == "denied by rule atpgate.yaml:17 (deny https://api.example.com:443/v1/admin/*)")
        #expect(try Self.inner("api.example.com", 443, "/other?q=1").reason
            == "no allow rule matches api.example.com:443 path '/other' (inside the inspected tunnel)")
        #expect(try Self.inner("api.example.com", 443, "/api/%2e%2e/x").reason.hasPrefix("invalid request path: "))
    }

    struct ConnectCase: Sendable, CustomTestStringConvertible {
        let host: String
        let port: UInt16
        let verdict: Verdict
        let rule: String
        let inspected: Bool
        var testDescription: String { "CONNECT \(host):\(port)" }
        init(_ host: String, _ port: UInt16, _ verdict: Verdict, _ rule: String, inspected: Bool) {
            self.host = host; self.port = port; self.verdict = verdict; self.rule = rule; self.inspected = inspected
        }
    }

    @Test(arguments: [
        ConnectCase("api.example.com", 443, .allow, "atpgate.yaml:7", inspected: true),
        ConnectCase("api.example.com", 8443, .allow, "atpgate.yaml:9", inspected: true),
        ConnectCase("api.example.com", 9443, .deny, "default", inspected: false),
        ConnectCase("all.example.com", 443, .allow, "atpgate.yaml:10", inspected: true),
        ConnectCase("all.example.com", 9000, .deny, "atpgate.yaml:19", inspected: false),
        ConnectCase("192.0.2.1", 443, .allow, "atpgate.yaml:11", inspected: true),
        ConnectCase("[2001:db8::1]", 443, .allow, "atpgate.yaml:12", inspected: true),
        ConnectCase("a.svc.example.com", 443, .allow, "atpgate.yaml:13", inspected: true),
        ConnectCase("svc.example.com", 443, .deny, "default", inspected: false),
        ConnectCase("plain.example.com", 443, .allow, "atpgate.yaml:14", inspected: false),
        // a mapped spelling of an inspected IPv4 target is another target, allowed by nothing
        ConnectCase("[::ffff:192.0.2.1]", 443, .deny, "default", inspected: false),
    ])
    func connects(_ c: ConnectCase) throws {
        let decision = Self.policy.decide(try Fixture.request(c.host, c.port))
        #expect(decision.verdict == c.verdict, "\(decision.reason)")
        #expect(decision.rule.text == c.rule, "\(decision.reason)")
        #expect(decision.inspected == c.inspected)
    }

    /// An https:// deny rule speaks about paths: it never denies the CONNECT, and https:// rules never
    /// decide plain HTTP.
    @Test func httpsRulesStayInsideTheTunnel() throws {
        let connect = Self.policy.decide(try Fixture.request("all.example.com", 443))
        #expect(connect.verdict == .allow)
        let plain = Self.policy.decide(try Fixture.request("api.example.com", 443, path: "/v1/x"))
        #expect(plain.verdict == .deny)
        #expect(plain.rule.text == "default")
        #expect(!plain.inspected)
        let forwarded = Self.policy.decide(try Fixture.request("api.example.com", 80, path: "/plain/x"))
        #expect(forwarded.verdict == .allow)
        #expect(!forwarded.inspected)
    }

    @Test func inspectedPorts() throws {
        let policy = Self.policy
        #expect(policy.inspects(host: .name("api.example.com"), port: 443))
        #expect(policy.inspects(host: .name("api.example.com"), port: 8443))
        #expect(!policy.inspects(host: .name("api.example.com"), port: 9443))
        #expect(policy.inspects(host: .name("all.example.com"), port: 443))
        #expect(!policy.inspects(host: .name("all.example.com"), port: 9000))
        #expect(!policy.inspects(host: .name("plain.example.com"), port: 443))
        #expect(policy.inspects(host: .name("deep.a.svc.example.com"), port: 443))
        #expect(policy.inspects(host: .ip(try Fixture.address("2001:db8::1")), port: 443))
        #expect(!policy.inspects(host: .ip(try Fixture.address("192.0.2.2")), port: 443))
    }

    /// A plain rule at another port of an inspected host tunnels it untouched: only 443 and the https://
    /// rules' ports are inspected.
    @Test func anotherPortOfAnInspectedHostIsNotInspected() throws {
        let policy = try InspectionFixture.policy(hosts: ["a.example.com"], allow: ["a.example.com:443,8080"])
        let tls = policy.decide(try Fixture.request("a.example.com", 443))
        #expect(tls.verdict == .allow && tls.inspected)
        let other = policy.decide(try Fixture.request("a.example.com", 8080))
        #expect(other.verdict == .allow && !other.inspected)
    }

    @Test func explanations() throws {
        let policy = Self.policy
        let api = policy.inspectionExplanation(host: .name("api.example.com"), port: 443)
        #expect(api == "inspection: inspected (inspection.hosts entry 'api.example.com', atpgate.yaml:3): each request inside "
                     + "must name api.example.com in Host and is decided again: deny https://api.example.com:443/v1/admin/* "
                     + "(atpgate.yaml:17); allow https://api.example.com:443/v1/* (atpgate.yaml:7); allow "
                     + "https://api.example.com:443/health (atpgate.yaml:8); any other path is denied")
        let all = policy.inspectionExplanation(host: .name("all.example.com"), port: 443)
        #expect(all.hasSuffix("allow every path by all.example.com:443 (atpgate.yaml:10)"))
        #expect(all.contains("deny https://all.example.com:443/secret/* (atpgate.yaml:18)"))
        #expect(policy.inspectionExplanation(host: .name("plain.example.com"), port: 443)
            == "inspection: not inspected (plain.example.com is not in inspection.hosts): the tunnel is relayed untouched")
        #expect(policy.inspectionExplanation(host: .name("all.example.com"), port: 9000).hasPrefix("inspection: not inspected (port 9000"))
        #expect(try Fixture.policy(allow: ["a.example.com"]).inspectionExplanation(host: .name("a.example.com"), port: 443)
            == "inspection: off (the policy has no inspection section)")
    }
}
