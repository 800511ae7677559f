import AtpgateNet
import AtpgatePolicy
import Testing

/// `atp:` blocks expanded through the catalog: which hosts each cloud and location
/// selection allows, in order, each with its "catalog:line via policy:line" reference.
struct AtpExpansionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let atp: String
        let allow: [String]
        var testDescription: String { name }
    }

    static let sensor = "allow contoso-corpsensorapi.atp.azure.com:443 (atp-service-locations.yaml:4 via atpgate.yaml:2)"
    static let console = "allow contoso-corp.atp.azure.com:443 (atp-service-locations.yaml:5 via atpgate.yaml:2)"
    static let crl = [
        "allow crl.microsoft.com:80 (atp-service-locations.yaml:18 via atpgate.yaml:2)",
        "allow http://www.microsoft.com:80/pkiops/* (atp-service-locations.yaml:19 via atpgate.yaml:2)",
    ]
    static func us(via line: Int) -> [String] {
        ["allow us1.atp.azure.com:443 (atp-service-locations.yaml:12 via atpgate.yaml:\(line))",
         "allow us2.atp.azure.com:443 (atp-service-locations.yaml:13 via atpgate.yaml:\(line))"]
    }
    static func europe(via line: Int) -> [String] {
        ["allow eu1.atp.azure.com:443 (atp-service-locations.yaml:14 via atpgate.yaml:\(line))",
         "allow eu2.atp.azure.com:443 (atp-service-locations.yaml:14 via atpgate.yaml:\(line))"]
    }

    @Test(arguments: [
        Case(name: "commercial, one location, console and crl by default",
             atp: "  instance: contoso-corp\n  locations: [Europe]\n",
             allow: [sensor, console] + europe(via: 4) + crl),
        Case(name: "commercial without console",
             atp: "  instance: contoso-corp\n  locations: [Europe]\n  console: false\n",
             allow: [sensor] + europe(via: 4) + crl),
        Case(name: "crl off",
             atp: "  instance: contoso-corp\n  crl: false\n",
             allow: [sensor, console]),
        Case(name: "locations omitted: instance hosts only",
             atp: "  instance: contoso-corp\n  console: false\n  crl: false\n",
             allow: [sensor]),
        Case(name: "locations []: instance hosts only",
             atp: "  instance: contoso-corp\n  locations: []\n  crl: false\n",
             allow: [sensor, console]),
        Case(name: "[all] selects every location of the cloud, via the 'all' item",
             atp: "  instance: contoso-corp\n  crl: false\n  locations:\n    - all\n",
             allow: [sensor, console] + us(via: 6) + europe(via: 6)),
        Case(name: "names match case-insensitively; each via its own item; list order kept",
             atp: "  instance: contoso-corp\n  crl: false\n  console: false\n  locations:\n    - eUrOpE\n    - us\n",
             allow: [sensor] + europe(via: 7) + us(via: 8)),
        Case(name: "a single name without brackets",
             atp: "  instance: contoso-corp\n  crl: false\n  console: false\n  locations: ALL\n",
             allow: [sensor] + us(via: 6) + europe(via: 6)),
        Case(name: "instance is lower-cased like every host",
             atp: "  instance: Contoso-CORP\n  crl: false\n  console: false\n",
             allow: [sensor]),
        Case(name: "gcc: its own sensor template and no console even when asked",
             atp: "  instance: contoso-corp\n  cloud: gcc\n  console: true\n  locations: [us gcc]\n  crl: false\n",
             allow: ["allow contoso-corpsensorapi.gcc.atp.azure.com:443 (atp-service-locations.yaml:6 via atpgate.yaml:2)",
                     "allow gcc1.gcc.atp.azure.com:443 (atp-service-locations.yaml:15 via atpgate.yaml:6)"]),
        Case(name: "gcc-high with [all] and crl",
             atp: "  instance: contoso-corp\n  cloud: gcc-high\n  locations: [all]\n",
             allow: ["allow contoso-corpsensorapi.atp.azure.us:443 (atp-service-locations.yaml:7 via atpgate.yaml:2)",
                     "allow high1.atp.azure.us:443 (atp-service-locations.yaml:16 via atpgate.yaml:5)"] + crl),
        Case(name: "dod is gcc-high",
             atp: "  instance: contoso-corp\n  cloud: DoD\n  locations: [US GCC High]\n  crl: false\n",
             allow: ["allow contoso-corpsensorapi.atp.azure.us:443 (atp-service-locations.yaml:7 via atpgate.yaml:2)",
                     "allow high1.atp.azure.us:443 (atp-service-locations.yaml:16 via atpgate.yaml:5)"]),
        Case(name: "flow-style atp block",
             atp: "  {instance: contoso-corp, locations: [Europe], crl: false}\n",
             allow: [sensor, console] + europe(via: 3)),
    ])
    func expands(_ c: Case) throws {
        let policy = try AtpFixture.policy("version: 1\natp:\n" + c.atp)
        #expect(AtpFixture.allowLines(policy) == c.allow)
    }

    @Test func policyRulesComeFirstAndKeepTheirReferences() throws {
        let policy = try AtpFixture.policy("""
            version: 1
            allow: ["eu1.atp.azure.com:443", "extra.example.com"]
            atp: {instance: contoso-corp, locations: [Europe], console: false, crl: false}
            """)
        #expect(AtpFixture.allowLines(policy) == [
            "allow eu1.atp.azure.com:443 (atpgate.yaml:2)",
            "allow extra.example.com:443 (atpgate.yaml:2)",
            "allow contoso-corpsensorapi.atp.azure.com:443 (atp-service-locations.yaml:4 via atpgate.yaml:3)",
        ] + Self.europe(via: 3))
        // The first declared matching rule is reported: the policy's own.
        #expect(policy.decide(try Fixture.request("eu1.atp.azure.com", 443)).rule.text == "atpgate.yaml:2")
    }

    static let decisions = try! AtpFixture.policy("""
        version: 1
        atp:
          instance: contoso-corp
          locations:
            - Europe
        deny: ["eu2.atp.azure.com"]
        """)

    @Test(arguments: [
        ("contoso-corpsensorapi.atp.azure.com", 443, nil, Verdict.allow, "atp-service-locations.yaml:4 via atpgate.yaml:2"),
        ("CONTOSO-CORPsensorapi.atp.azure.com.", 443, nil, .allow, "atp-service-locations.yaml:4 via atpgate.yaml:2"),
        ("contoso-corpsensorapi.atp.azure.com", 80, nil, .deny, "default"),
        ("contoso-corp.atp.azure.com", 443, nil, .allow, "atp-service-locations.yaml:5 via atpgate.yaml:2"),
        ("eu1.atp.azure.com", 443, nil, .allow, "atp-service-locations.yaml:14 via atpgate.yaml:5"),
        ("eu1.atp.azure.com", 8443, nil, .deny, "default"),
        ("eu2.atp.azure.com", 443, nil, .deny, "atpgate.yaml:6"),              // deny beats expanded allows
        ("us1.atp.azure.com", 443, nil, .deny, "default"),                     // not selected
        ("other-corpsensorapi.atp.azure.com", 443, nil, .deny, "default"),     // another instance
        ("x.contoso-corpsensorapi.atp.azure.com", 443, nil, .deny, "default"), // exact names only
        ("crl.microsoft.com", 80, nil, .allow, "atp-service-locations.yaml:18 via atpgate.yaml:2"),
        ("crl.microsoft.com", 80, "/pki/crl/products/root.crl", .allow, "atp-service-locations.yaml:18 via atpgate.yaml:2"),
        ("crl.microsoft.com", 443, nil, .deny, "default"),
        ("www.microsoft.com", 80, "/pkiops/certs/a.crt", .allow, "atp-service-locations.yaml:19 via atpgate.yaml:2"),
        ("www.microsoft.com", 80, nil, .deny, "default"),                      // path rules: plain HTTP only
        ("www.microsoft.com", 80, "/other/x", .deny, "default"),
    ] as [(String, UInt16, String?, Verdict, String)])
    func decides(host: String, port: UInt16, path: String?, verdict: Verdict, rule: String) throws {
        let decision = Self.decisions.decide(try Fixture.request(host, port, path: path))
        #expect(decision.verdict == verdict)
        #expect(decision.rule.text == rule)
        if verdict == .allow { #expect(decision.reason.hasPrefix("allowed by rule \(rule) (allow ")) }
    }

    @Test func crlOffRemovesTheRevocationRules() throws {
        let policy = try AtpFixture.policy("version: 1\natp: {instance: contoso-corp, crl: false}\n")
        #expect(policy.decide(try Fixture.request("crl.microsoft.com", 80)).rule.text == "default")
        #expect(policy.decide(try Fixture.request("www.microsoft.com", 80, path: "/pkiops/a")).rule.text == "default")
        #expect(policy.decide(try Fixture.request("contoso-corpsensorapi.atp.azure.com", 443)).verdict == .allow)
    }

    @Test func summaryListsEveryEffectiveRuleOnce() throws {
        let policy = try AtpFixture.policy("version: 1\natp: {instance: contoso-corp, locations: [all]}\n")
        let allow = AtpFixture.allowLines(policy)
        #expect(allow.count == 2 + 4 + 2)
        #expect(Set(allow).count == allow.count)
        #expect(policy.summary.last == "default deny")
    }
}
