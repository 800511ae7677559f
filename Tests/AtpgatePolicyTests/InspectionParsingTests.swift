import AtpgateNet
import AtpgatePolicy
import Foundation
import Testing

/// Policies with an `inspection:` section, built from inline YAML (loaded as `Fixture.file`, so
/// relative paths resolve under /etc/atpgate).
enum InspectionFixture {
    /// A valid section: the given hosts, a CA, clients verified by a CA, then `extra` lines of the
    /// section (indented by two) and the rules. Line 1 is `version`, line 2 `inspection:`, line 3 `hosts`.
    static func yaml(hosts: [String], section extra: String = "", allow: [String] = [], deny: [String] = []) -> String {
        let list = { (items: [String]) in "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return "version: 1\ninspection:\n  hosts: \(list(hosts))\n  ca: {cert: ca.pem, key: ca-key.pem}\n"
             + "  clients: {ca: clients-ca.pem}\n" + extra
             + "allow: \(list(allow))\ndeny: \(list(deny))\n"
    }

    static func policy(hosts: [String], section extra: String = "", allow: [String] = [], deny: [String] = []) throws -> Policy {
        try Fixture.policy(yaml(hosts: hosts, section: extra, allow: allow, deny: deny))
    }

    static func settings(_ yaml: String) throws -> InspectionSettings {
        try #require(try Fixture.policy(yaml).inspection)
    }

    /// 32 bytes 0x00, 0x01, ... 0x1f and its 64-digit hex spelling.
    static let digest: [UInt8] = Array(0..<32)
    static let digestHex = digest.map { String(format: "%02x", $0) }.joined()
}

/// The `inspection:` section read into `InspectionSettings`: values, defaults, paths, expansion.
struct InspectionParsingTests {
    @Test func readsEverySetting() throws {
        let colonPin = InspectionFixture.digest.map { String(format: "%02X", $0) }.joined(separator: ":")
        let settings = try InspectionFixture.settings("""
            version: 1
            inspection:
              hosts: ["Updates.Example.com.", "*.cdn.example.com", "192.0.2.1", "[2001:db8::1]", "2001:db8::2"]
              ca: {cert: ca.pem, key: /secure/ca-key.pem}
              clients: {ca: sensors-ca.pem, pins: ["\(InspectionFixture.digestHex)", "\(String(repeating: "Ab", count: 32))"], require: true}
              upstream:
                trust: certs/bundle.pem
                client_certs:
                  - match: {subject_cn: "DC01*"}
                    cert: dc01-upstream.pem
                    key: dc01-upstream-key.pem
                  - {match: {san: "*.contoso.com"}, cert: san.pem, key: san-key.pem}
                  - {match: {sha256: "\(colonPin)"}, cert: pinned.pem, key: pinned-key.pem}
                  - {match: default, cert: shared.pem, key: shared-key.pem}

            """)
        #expect(settings.hosts.map(\.description) == ["updates.example.com", "*.cdn.example.com", "192.0.2.1", "[2001:db8::1]", "[2001:db8::2]"])
        #expect(settings.hosts.map(\.sourceLine) == [3, 3, 3, 3, 3])
        #expect(settings.hosts[1].pattern == .suffix("cdn.example.com"))
        #expect(settings.hosts[2].pattern == .address(try Fixture.address("192.0.2.1")))
        #expect(settings.ca == .init(certPath: "/etc/atpgate/ca.pem", keyPath: "/secure/ca-key.pem"))
        #expect(settings.clients.caPath == "/etc/atpgate/sensors-ca.pem")
        #expect(settings.clients.pins == [InspectionFixture.digest, [UInt8](repeating: 0xAB, count: 32)])
        #expect(settings.clients.require)
        #expect(settings.upstream.trust == .bundle("/etc/atpgate/certs/bundle.pem"))
        let mappings = settings.upstream.clientCerts
        #expect(mappings.map(\.match) == [.subjectCN("DC01*"), .san("*.contoso.com"), .sha256(InspectionFixture.digest), .default])
        #expect(mappings.map(\.sourceLine) == [9, 12, 13, 14])
        #expect(mappings[0].certPath == "/etc/atpgate/dc01-upstream.pem")
        #expect(mappings[0].keyPath == "/etc/atpgate/dc01-upstream-key.pem")
        #expect(settings.sourceLine == 2)
    }

    @Test func defaultsAndTheAbsentSection() throws {
        let settings = try InspectionFixture.settings(InspectionFixture.yaml(hosts: ["a.example.com"]))
        #expect(settings.clients == .init(caPath: "/etc/atpgate/clients-ca.pem", pins: [], require: true))
        #expect(settings.upstream == .init(trust: .system, clientCerts: []))
        let unverified = try InspectionFixture.settings("version: 1\ninspection:\n  hosts: a.example.com\n"
                                                        + "  ca: {cert: ca.pem, key: k.pem}\n  clients: {require: false}\n")
        #expect(unverified.clients == .init(caPath: nil, pins: [], require: false))
        let pinsOnly = try InspectionFixture.settings("version: 1\ninspection:\n  hosts: a.example.com\n"
                                                      + "  ca: {cert: ca.pem, key: k.pem}\n  clients: {pins: [\"\(InspectionFixture.digestHex)\"]}\n")
        #expect(pinsOnly.clients.pins == [InspectionFixture.digest])
        let off = try Fixture.policy(allow: ["a.example.com"])
        #expect(off.inspection == nil)
        #expect(off.inspectionWarnings.isEmpty)
        #expect(off.summary.contains("inspection off"))
        #expect(!off.inspects(host: .name("a.example.com"), port: 443))
    }

    @Test func relativePathsFollowThePolicyFile() throws {
        let yaml = InspectionFixture.yaml(hosts: ["a.example.com"])
        let relative = try #require(try PolicyLoader.parse(yaml: yaml, file: "conf/atpgate.yaml").inspection)
        #expect(relative.ca.certPath == "conf/ca.pem")
        let here = try #require(try PolicyLoader.parse(yaml: yaml, file: "atpgate.yaml").inspection)
        #expect(here.ca.certPath == "ca.pem")
    }

    @Test func allFilesListsEveryCertificateAndKeyOnce() throws {
        let settings = try InspectionFixture.settings(InspectionFixture.yaml(hosts: ["a.example.com"], section: """
              upstream:
                trust: bundle.pem
                client_certs:
                  - {match: {subject_cn: "DC01*"}, cert: dc.pem, key: dc-key.pem}
                  - {match: default, cert: dc.pem, key: dc-key.pem}

            """))
        #expect(settings.allFiles == ["ca.pem", "ca-key.pem", "clients-ca.pem", "bundle.pem", "dc.pem", "dc-key.pem"]
            .map { "/etc/atpgate/" + $0 })
    }

    @Test func theSummaryMentionsInspection() throws {
        let policy = try InspectionFixture.policy(hosts: ["a.example.com", "*.b.example.com"], section: """
              upstream:
                client_certs:
                  - {match: {subject_cn: "DC01*"}, cert: dc.pem, key: dc-key.pem}

            """, allow: ["https://a.example.com/api/*"], deny: ["https://a.example.com:8443/api/admin/*"])
        let summary = policy.summary
        #expect(summary.contains("inspection 2 hosts: a.example.com, *.b.example.com (atpgate.yaml:2)"))
        #expect(summary.contains("inspection ca /etc/atpgate/ca.pem key /etc/atpgate/ca-key.pem"))
        #expect(summary.contains("inspection clients ca /etc/atpgate/clients-ca.pem, 0 pins, certificate required"))
        #expect(summary.contains("inspection upstream trust system, 1 client_certs entry"))
        #expect(summary.contains("inspection client_cert subject_cn DC01* -> /etc/atpgate/dc.pem key /etc/atpgate/dc-key.pem (atpgate.yaml:8)"))
        #expect(summary.contains("allow https://a.example.com:443/api/* (atpgate.yaml:9)"))
        #expect(summary.contains("deny https://a.example.com:8443/api/admin/* (atpgate.yaml:10)"))
        #expect(summary.last == "default deny")
    }

    /// Rule paths are canonicalised as `http://` rule paths are: "/%61pi/*" is "/api/*".
    @Test func httpsRulePathsAreCanonical() throws {
        let policy = try InspectionFixture.policy(hosts: ["a.example.com"], allow: ["https://A.example.com/%61pi/*"])
        #expect(policy.summary.contains("allow https://a.example.com:443/api/* (atpgate.yaml:6)"))
    }

    @Test func inspectedAddressesTakeHTTPSRules() throws {
        let policy = try InspectionFixture.policy(hosts: ["192.0.2.1", "[2001:db8::1]"],
                                                  allow: ["https://192.0.2.1/x/*", "https://[2001:db8::1]:8443/x/*"])
        #expect(policy.summary.contains("allow https://192.0.2.1:443/x/* (atpgate.yaml:6)"))
        #expect(policy.summary.contains("allow https://[2001:db8::1]:8443/x/* (atpgate.yaml:6)"))
    }

    /// A wildcard host covers an exact name below it and a deeper wildcard.
    @Test func httpsRuleHostsInsideAWildcardEntry() throws {
        let policy = try InspectionFixture.policy(hosts: ["*.example.com"],
                                                  allow: ["https://a.example.com/x/*", "https://*.example.com/y/*",
                                                          "https://*.b.example.com/z/*"])
        #expect(policy.summary.filter { $0.hasPrefix("allow https://") }.count == 3)
    }

    /// `{instance}` expands in inspection.hosts and in https:// rules, wherever `atp` is written.
    @Test func instanceExpandsInHostsAndHTTPSRules() throws {
        let policy = try AtpFixture.policy("""
            version: 1
            inspection:
              hosts: ["{instance}sensorapi.atp.azure.com", "*.{instance}.example.com"]
              ca: {cert: ca.pem, key: ca-key.pem}
              clients: {ca: sensors-ca.pem}
              upstream: {client_certs: [{match: default, cert: up.pem, key: up-key.pem}]}
            allow: ["https://{instance}sensorapi.atp.azure.com/tri/*", "https://x.{instance}.example.com/y/*"]
            atp: {instance: Contoso-Corp, locations: []}

            """)
        let settings = try #require(policy.inspection)
        #expect(settings.hosts.map(\.pattern) == [.exact("contoso-corpsensorapi.atp.azure.com"), .suffix("contoso-corp.example.com")])
        #expect(AtpFixture.allowLines(policy).contains("allow https://contoso-corpsensorapi.atp.azure.com:443/tri/* (atpgate.yaml:7)"))
        #expect(AtpFixture.allowLines(policy).contains("allow https://x.contoso-corp.example.com:443/y/* (atpgate.yaml:7)"))
        #expect(policy.inspects(host: .name("contoso-corpsensorapi.atp.azure.com"), port: 443))
        #expect(policy.inspectionWarnings.isEmpty)
    }

    /// The commented example in the shipped policy is valid once uncommented, and inspects the sensor host.
    @Test func theShippedExampleLoadsWhenUncommented() throws {
        let shipped = try String(contentsOfFile: ShippedPolicyTests.repository + "/policies/atpgate.yaml", encoding: .utf8)
        var lines = shipped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "# inspection:"))
        var index = start
        while index < lines.count, lines[index].hasPrefix("# ") {
            lines[index] = String(lines[index].dropFirst(2))
            index += 1
        }
        let folder = try TemporaryFolder()
        try folder.write(ServiceLocationCatalog.defaultFileName,
                         try String(contentsOfFile: ShippedPolicyTests.repository + "/policies/" + ServiceLocationCatalog.defaultFileName,
                                    encoding: .utf8))
        let policy = try PolicyLoader.load(path: try folder.write("atpgate.yaml", lines.joined(separator: "\n")))
        let settings = try #require(policy.inspection)
        #expect(settings.hosts.map(\.description) == ["contoso-corpsensorapi.atp.azure.com"])
        #expect(settings.upstream.clientCerts.count == 2)
        #expect(policy.inspectionWarnings.isEmpty)
        #expect(policy.inspects(host: .name("contoso-corpsensorapi.atp.azure.com"), port: 443))
        // And as shipped, inspection is off.
        #expect(try PolicyLoader.load(path: ShippedPolicyTests.repository + "/policies/atpgate.yaml").inspection == nil)
    }
}
