import AtpgateNet
import AtpgatePolicy
import Foundation
import Testing

/// `atp.sensors`: classic (v2.x) and modern (v3.x) sensor hosts, each selected on its own; the
/// modern hosts come from the catalog's `clouds.NAME.modern` and are referenced through the
/// `sensors` entry that selected them.
struct ModernSensorTests {
    typealias Case = AtpExpansionTests.Case

    static func policy(_ atp: String) throws -> Policy {
        try AtpFixture.policy("version: 1\natp:\n" + atp, catalog: AtpFixture.modernCatalog)
    }

    static let sensor = "allow contoso-corpsensorapi.atp.azure.com:443 (atp-service-locations.yaml:4 via atpgate.yaml:2)"
    static let console = "allow contoso-corp.atp.azure.com:443 (atp-service-locations.yaml:5 via atpgate.yaml:2)"
    static let crl = "allow crl.microsoft.com:80 (atp-service-locations.yaml:19 via atpgate.yaml:2)"
    static func europe(via line: Int) -> String {
        "allow eu1.atp.azure.com:443 (atp-service-locations.yaml:15 via atpgate.yaml:\(line))"
    }
    /// The modern rule of a cloud: its catalog line is 6 (commercial), 9 (gcc) or 13 (gcc-high).
    static func modern(_ domain: String, catalogLine: Int, via line: Int) -> String {
        "allow *.endpoint.security.microsoft.\(domain):443 (atp-service-locations.yaml:\(catalogLine) via atpgate.yaml:\(line))"
    }

    @Test(arguments: [
        Case(name: "no sensors key: classic only, though the catalog has modern hosts",
             atp: "  instance: contoso-corp\n  locations: [Europe]\n",
             allow: [sensor, console, europe(via: 4), crl]),
        Case(name: "[classic] is the default spelled out",
             atp: "  instance: contoso-corp\n  locations: [Europe]\n  sensors: [classic]\n",
             allow: [sensor, console, europe(via: 4), crl]),
        Case(name: "[classic, modern]: classic hosts, then modern via its sensors entry, then crl",
             atp: "  instance: contoso-corp\n  sensors: [classic, modern]\n  locations: [Europe]\n",
             allow: [sensor, console, europe(via: 5), modern("com", catalogLine: 6, via: 4), crl]),
        Case(name: "[modern] with an instance: console and crl still follow their keys",
             atp: "  instance: contoso-corp\n  sensors: [modern]\n",
             allow: [console, modern("com", catalogLine: 6, via: 4), crl]),
        Case(name: "modern alone needs no instance without a console",
             atp: "  sensors: Modern\n  console: false\n",
             allow: [modern("com", catalogLine: 6, via: 3), crl]),
        Case(name: "gcc: the .us domain; gcc has no console, so no instance is needed",
             atp: "  cloud: gcc\n  sensors: [MODERN]\n  crl: false\n",
             allow: [modern("us", catalogLine: 9, via: 4)]),
        Case(name: "gcc-high: the .us domain, via the block-list entry",
             atp: "  cloud: gcc-high\n  crl: false\n  sensors:\n    - modern\n",
             allow: [modern("us", catalogLine: 13, via: 6)]),
        Case(name: "dod with both, in either order: classic rules first",
             atp: "  instance: c\n  cloud: dod\n  sensors: [modern, classic]\n  locations: [all]\n  crl: false\n",
             allow: ["allow csensorapi.atp.azure.us:443 (atp-service-locations.yaml:11 via atpgate.yaml:2)",
                     "allow high1.atp.azure.us:443 (atp-service-locations.yaml:17 via atpgate.yaml:6)",
                     modern("us", catalogLine: 13, via: 5)]),
    ])
    func expands(_ c: Case) throws {
        #expect(AtpFixture.allowLines(try Self.policy(c.atp)) == c.allow)
    }

    /// An existing policy means exactly what it meant: with and without `sensors: [classic]`, on
    /// the shipped catalog (which has modern hosts), the summaries are the same line for line.
    @Test func defaultIsClassicOnTheShippedCatalog() throws {
        let catalog = ShippedPolicyTests.repository + "/policies/" + ServiceLocationCatalog.defaultFileName
        let atp = "atp:\n  instance: contoso-corp\n  locations: [all]\n  catalog: \(catalog)\n"
        let folder = try TemporaryFolder()
        let before = try PolicyLoader.load(path: try folder.write("atpgate.yaml", "version: 1\n" + atp))
        let after = try PolicyLoader.load(path: try folder.write("atpgate.yaml", "version: 1\n" + atp + "  sensors: [classic]\n"))
        #expect(before.summary == after.summary)
        #expect(AtpFixture.allowLines(before).count == 2 + 7 + 4)
        #expect(!before.summary.contains { $0.contains("endpoint.security") })
        #expect(before.allowedHostPatterns == after.allowedHostPatterns)
    }

    static let both = try! policy("  instance: contoso-corp\n  sensors: [classic, modern]\n  locations: [Europe]\n")
    static let modernRule = "atp-service-locations.yaml:6 via atpgate.yaml:4"

    @Test(arguments: [
        ("x.endpoint.security.microsoft.com", 443, Verdict.allow, modernRule),
        ("a.b.endpoint.security.microsoft.com", 443, .allow, modernRule),              // one or more labels
        ("X.Endpoint.Security.Microsoft.COM.", 443, .allow, modernRule),               // normalised first
        ("endpoint.security.microsoft.com", 443, .deny, "default"),                    // never the apex
        ("x.endpoint.security.microsoft.com.evil.com", 443, .deny, "default"),
        ("xendpoint.security.microsoft.com", 443, .deny, "default"),                   // label boundary
        ("x.security.microsoft.com", 443, .deny, "default"),                           // nothing wider
        ("x.endpoint.security.microsoft.com", 80, .deny, "default"),                   // 443 only
        ("x.endpoint.security.microsoft.us", 443, .deny, "default"),                   // another cloud's
        ("contoso-corpsensorapi.atp.azure.com", 443, .allow, "atp-service-locations.yaml:4 via atpgate.yaml:2"),
        ("eu1.atp.azure.com", 443, .allow, "atp-service-locations.yaml:15 via atpgate.yaml:5"),
    ] as [(String, UInt16, Verdict, String)])
    func decides(host: String, port: UInt16, verdict: Verdict, rule: String) throws {
        let decision = Self.both.decide(try Fixture.request(host, port))
        #expect(decision.verdict == verdict)
        #expect(decision.rule.text == rule)
    }

    @Test func modernOnlyDropsTheClassicHosts() throws {
        let policy = try Self.policy("  instance: contoso-corp\n  sensors: [modern]\n  crl: false\n")
        #expect(policy.decide(try Fixture.request("contoso-corpsensorapi.atp.azure.com", 443)).verdict == .deny)
        #expect(policy.decide(try Fixture.request("eu1.atp.azure.com", 443)).verdict == .deny)
        #expect(policy.decide(try Fixture.request("crl.microsoft.com", 80)).verdict == .deny)
        #expect(policy.decide(try Fixture.request("contoso-corp.atp.azure.com", 443)).verdict == .allow)
        #expect(policy.decide(try Fixture.request("g.endpoint.security.microsoft.com", 443)).verdict == .allow)
    }

    /// The PAC file and the WinINET bypass check route what `allowedHostPatterns` lists.
    @Test func allowedHostPatternsIncludeTheModernSuffix() throws {
        let patterns = Self.both.allowedHostPatterns
        #expect(patterns.contains(.suffix("endpoint.security.microsoft.com")))
        #expect(!patterns.contains(.exact("endpoint.security.microsoft.com")))
        let classic = try Self.policy("  instance: contoso-corp\n  locations: [Europe]\n")
        #expect(!classic.allowedHostPatterns.contains(.suffix("endpoint.security.microsoft.com")))
    }

    /// Errors that depend on the catalog's modern hosts, at the policy's positions.
    @Test(arguments: [
        ErrorCase("version: 1\natp:\n  sensors: [modern]\n", 3, 3,
                  "the console host '{instance}.atp.azure.com' needs atp.instance (set it, or atp.console: false)"),
        ErrorCase("version: 1\natp:\n  sensors: [modern]\n  console: true\n", 4, 12,
                  "the console host '{instance}.atp.azure.com' needs atp.instance"),
        ErrorCase("version: 1\natp: {sensors: modern, console: false}\nallow: [\"{instance}.a.com\"]\n", 3, 9,
                  "{instance} needs atp.instance"),
    ])
    func reportsPosition(_ c: ErrorCase) throws {
        let error = try #require(try AtpFixture.loadError(c.yaml, catalog: AtpFixture.modernCatalog))
        #expect(error.file.hasSuffix("/atpgate.yaml"))
        c.check(error)
    }

    @Test func aCloudWithoutModernHostsIsAnErrorAtTheSensorsEntry() throws {
        // AtpFixture.catalog lists no modern hosts at all.
        let error = try #require(try AtpFixture.loadError("version: 1\natp:\n  instance: c\n  sensors: [classic, modern]\n"))
        #expect(error.file.hasSuffix("/atpgate.yaml"))
        #expect((error.line, error.column) == (4, 22))
        #expect(error.message == "cloud commercial has no modern sensor hosts in catalog atp-service-locations.yaml "
                               + "(add clouds.commercial.modern there)")
    }
}
