import AtpgatePolicy
import Testing

/// Path rules through `decide`: allow rules match the canonical path exactly; deny rules match
/// every reading a server could make (any ASCII case, with or without ";params"), so a deny
/// catches what an overlapping allow lets through; refused paths never reach a rule.
struct PathMatchingTests {
    static let yaml = """
        version: 1
        allow:
          - "http://h.test/ok/*"
          - "http://h.test/%6Fk2/*"
          - "http://w.test/*"
          - "http://c.test/a+b/*"
          - "http://h.test/exact.crl"
        deny:
          - "http://w.test/admin/*"
          - "http://w.test/Secret"
          - "http://c.test/a%2Bb/private/*"
          - "http://w.test/caf%c3%a9/*"
        """

    static let policy = try! PolicyLoader.parse(yaml: yaml, file: "/etc/atpgate/atpgate.yaml")
    static let allowLines: Set = ["atpgate.yaml:3", "atpgate.yaml:4", "atpgate.yaml:5", "atpgate.yaml:6", "atpgate.yaml:7"]

    @Test(arguments: [
        // refused before any rule: the engine answers 400, decide() fails closed on its own
        ("h.test", "/ok/..;/admin", "path"),
        ("h.test", "/ok/.;x/y", "path"),
        ("h.test", "/ok//admin", "path"),
        ("h.test", "//ok/x", "path"),
        ("h.test", "/ok/%00", "path"),
        ("h.test", "/ok/%C0%AE%C0%AE/admin", "path"),
        ("h.test", "/ok/%u002e%u002e/admin", "path"),
        ("w.test", "/;x/admin/y", "path"),
        // allow: the canonical path, exactly
        ("h.test", "/ok/x", "atpgate.yaml:3"),
        ("h.test", "/%6Fk/x", "atpgate.yaml:3"),
        ("h.test", "/%6fk/x", "atpgate.yaml:3"),
        ("h.test", "/o%6B/x?q=%zz", "atpgate.yaml:3"),
        ("h.test", "/ok2/x", "atpgate.yaml:4"),             // the rule was written "/%6Fk2/*"
        ("h.test", "/ok/x;v=1", "atpgate.yaml:3"),          // parameters below the prefix stay below it
        ("h.test", "/ok;x/y", "default"),                   // "/ok;x/" is not "/ok/": fail closed
        ("h.test", "/ok%3Bx/y", "default"),
        ("h.test", "/OK/x", "default"),                     // allow is case-sensitive
        ("h.test", "/%4Fk/x", "default"),
        ("h.test", "/exact.crl", "atpgate.yaml:7"),
        ("h.test", "/exact.crl;x", "default"),
        ("h.test", "/exact%2Ecrl", "path"),
        ("c.test", "/a%2Bb/x", "atpgate.yaml:6"),           // '+' escaped or not
        // deny: any ASCII case, with or without parameters, escaped or not
        ("w.test", "/admin/x", "atpgate.yaml:9"),
        ("w.test", "/ADMIN/x", "atpgate.yaml:9"),
        ("w.test", "/Admin/", "atpgate.yaml:9"),
        ("w.test", "/admin;a=b/x", "atpgate.yaml:9"),
        ("w.test", "/Admin;x/y", "atpgate.yaml:9"),
        ("w.test", "/admin%3Bx/y", "atpgate.yaml:9"),      // "%3B" read as ';' by decode-first servers
        ("w.test", "/adm%69n/x", "atpgate.yaml:9"),
        ("w.test", "/%41DMIN/x", "atpgate.yaml:9"),
        ("w.test", "/secret", "atpgate.yaml:10"),
        ("w.test", "/SECRET?x=1", "atpgate.yaml:10"),
        ("w.test", "/secret;jsessionid=1", "atpgate.yaml:10"),
        ("w.test", "/SeCrEt;", "atpgate.yaml:10"),
        ("c.test", "/a+b/private/k", "atpgate.yaml:11"),
        ("c.test", "/A%2bB/PRIVATE/k", "atpgate.yaml:11"),
        ("c.test", "/a+b;x/private;y/k", "atpgate.yaml:11"),
        ("w.test", "/caf%C3%A9/x", "atpgate.yaml:12"),
        ("w.test", "/CAF%c3%a9;x/x", "atpgate.yaml:12"),
        // ... and nothing else
        ("w.test", "/admin", "atpgate.yaml:5"),             // a prefix rule stops at a segment boundary
        ("w.test", "/administrator/x", "atpgate.yaml:5"),
        ("w.test", "/x/admin/y", "atpgate.yaml:5"),
        ("w.test", "/secret/x", "atpgate.yaml:5"),
        ("w.test", "/secrets", "atpgate.yaml:5"),
        ("w.test", "/x;admin/y", "atpgate.yaml:5"),
    ])
    func decides(host: String, path: String, rule: String) throws {
        let decision = Self.policy.decide(try Fixture.request(host, 80, path: path))
        #expect(decision.rule.text == rule, "\(decision.reason)")
        #expect(decision.verdict == (Self.allowLines.contains(rule) ? .allow : .deny))
    }

    @Test func reasonsAreUnchanged() throws {
        let denied = Self.policy.decide(try Fixture.request("w.test", 80, path: "/ADMIN;x/y"))
        #expect(denied.reason == "denied by rule atpgate.yaml:9 (deny http://w.test:80/admin/*)")
        let allowed = Self.policy.decide(try Fixture.request("h.test", 80, path: "/%6Fk/x"))
        #expect(allowed.reason == "allowed by rule atpgate.yaml:3 (allow http://h.test:80/ok/*)")
        let refused = Self.policy.decide(try Fixture.request("h.test", 80, path: "/ok/..;/admin"))
        #expect(refused.reason == "invalid request path: dot segment with path parameters in request path")
    }

    /// A host-wide allow never outruns a path deny, whatever the spelling.
    @Test(arguments: ["/admin/x", "/ADMIN/x", "/admin;a=b/x", "/Admin;x/y", "/aDmIn%3B/y", "/%61dmin/x"])
    func denyBeatsWildcardAllow(path: String) throws {
        let policy = try Fixture.policy(allow: ["http://h/*"], deny: ["http://h/admin/*"])
        let decision = policy.decide(try Fixture.request("h", 80, path: path))
        #expect(decision.verdict == .deny)
        #expect(decision.rule.text == "atpgate.yaml:3")
    }
}
