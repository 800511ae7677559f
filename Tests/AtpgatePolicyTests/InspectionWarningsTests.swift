import AtpgatePolicy
import Testing

/// `Policy.inspectionWarnings`: valid settings that break Defender for Identity sensors.
struct InspectionWarningsTests {
    /// An atp block (instance contoso, Europe: eu1 and eu2) and an inspection section inspecting `hosts`
    /// (line 5), with `clientCerts` as the upstream client_certs list.
    static func policy(hosts: [String], clientCerts: String = "[]") throws -> Policy {
        let list = "[" + hosts.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        return try AtpFixture.policy("""
            version: 1
            atp: {instance: contoso, locations: [Europe]}
            allow: []
            inspection:
              hosts: \(list)
              ca: {cert: ca.pem, key: ca-key.pem}
              clients: {ca: sensors-ca.pem}
              upstream: {client_certs: \(clientCerts)}

            """)
    }

    static let someCerts = "[{match: {subject_cn: \"DC*\"}, cert: dc.pem, key: dc-key.pem}]"

    @Test func classicSensorHostWithoutClientCerts() throws {
        let warnings = try Self.policy(hosts: ["updates.example.com", "{instance}sensorapi.atp.azure.com"]).inspectionWarnings
        #expect(warnings.count == 1)
        let warning = try #require(warnings.first)
        #expect(warning.hasSuffix("/atpgate.yaml:5: inspection.hosts entry 'contososensorapi.atp.azure.com' inspects the classic "
                                  + "sensor host contososensorapi.atp.azure.com but inspection.upstream.client_certs is empty: "
                                  + "the cloud rejects a sensor that does not present its certificate"), "\(warning)")
        #expect(!warning.contains("\n"))
    }

    /// A wildcard entry that reaches the sensor host and the location hosts names them all, once.
    @Test func wildcardReachingClassicHosts() throws {
        let warnings = try Self.policy(hosts: ["*.atp.azure.com"]).inspectionWarnings
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("inspects the classic sensor host contososensorapi.atp.azure.com, eu1.atp.azure.com, "
                                         + "eu2.atp.azure.com but") == true)
    }

    @Test func noClassicWarningWithClientCertsOrWithoutClassicHosts() throws {
        #expect(try Self.policy(hosts: ["contososensorapi.atp.azure.com"], clientCerts: Self.someCerts).inspectionWarnings.isEmpty)
        #expect(try Self.policy(hosts: ["updates.example.com", "192.0.2.1"]).inspectionWarnings.isEmpty)
        // The console is no sensor host.
        #expect(try Self.policy(hosts: ["contoso.atp.azure.com"]).inspectionWarnings.isEmpty)
    }

    @Test(arguments: [
        ("x.endpoint.security.microsoft.com", true),
        ("a.b.endpoint.security.microsoft.us", true),
        ("*.endpoint.security.microsoft.com", true),
        ("*.eu.endpoint.security.microsoft.com", true),
        ("*.security.microsoft.com", true),
        ("*.microsoft.com", true),
        ("*.com", true),
        ("*.microsoft.us", true),
        ("endpoint.security.microsoft.com", false),   // the apex: not a sensor host
        ("x.endpoint.security.microsoft.example.com", false),
        ("*.example.com", false),
        ("*.security.example.com", false),
        ("endpoint.example.com", false),
    ])
    func modernSensorHosts(host: String, warns: Bool) throws {
        let warnings = try Self.policy(hosts: [host], clientCerts: Self.someCerts).inspectionWarnings
        #expect(warnings.count == (warns ? 1 : 0), "\(warnings)")
        if warns {
            #expect(warnings.first?.contains("atpgate.yaml:5: inspection.hosts entry '\(host)' inspects modern sensor hosts "
                                             + "(*.endpoint.security.microsoft.*): their connections are certificate-pinned") == true)
        }
    }

    /// One entry can warn twice: it reaches classic hosts without client_certs and modern hosts.
    @Test func bothKindsAtOnce() throws {
        let warnings = try Self.policy(hosts: ["*.com"]).inspectionWarnings
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.contains("atpgate.yaml:5: inspection.hosts entry '*.com'") })
    }

    @Test func noneWithoutTheSection() throws {
        #expect(try AtpFixture.policy("version: 1\natp: {instance: contoso}\n").inspectionWarnings.isEmpty)
    }
}
