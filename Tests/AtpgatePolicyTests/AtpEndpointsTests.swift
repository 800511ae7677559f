import AtpgateNet
import AtpgatePolicy
import Foundation
import Testing

/// `Policy.atpEndpoints` and `ruleEndpoints`: what `atpgate doctor` checks, read from the compiled rules and
/// the catalog lines they reference.
struct AtpEndpointsTests {
    /// The policy loaded beside `catalog`, with the folder kept: the endpoints read the catalog again.
    static func load(_ yaml: String, catalog: String = AtpFixture.catalog) throws -> (Policy, TemporaryFolder) {
        let folder = try TemporaryFolder()
        try folder.write(ServiceLocationCatalog.defaultFileName, catalog)
        return (try PolicyLoader.load(path: try folder.write("atpgate.yaml", yaml)), folder)
    }

    /// "display kind https|plain" per endpoint, compact enough to compare whole lists.
    static func rows(_ endpoints: [AtpEndpoint]) -> [String] {
        endpoints.map { "\($0.display) \($0.kind.rawValue) \($0.isHTTPS ? "https" : "plain")" }
    }

    @Test("classic and modern sensors, console, locations and CRL: kinds from the catalog lines, in rule order")
    func everyKind() throws {
        let (policy, folder) = try Self.load("version: 1\natp:\n  instance: contoso-corp\n  sensors: [classic, modern]\n"
                                             + "  locations: [Europe]\n", catalog: AtpFixture.modernCatalog)
        defer { withExtendedLifetime(folder) {} }
        #expect(policy.hasAtpBlock)
        #expect(Self.rows(policy.atpEndpoints) == [
            "contoso-corpsensorapi.atp.azure.com:443 sensor https",
            "contoso-corp.atp.azure.com:443 console https",
            "eu1.atp.azure.com:443 sensor https",
            "*.endpoint.security.microsoft.com:443 modern https",
            "crl.microsoft.com:80 crl plain",
        ])
        let modern = try #require(policy.atpEndpoints.first { $0.kind == .modernSensor })
        #expect(modern.notCheckable == "wildcard (no single name)")
        #expect(modern.target == .wildcard("endpoint.security.microsoft.com"))
        #expect(policy.atpEndpoints.filter { $0.kind != .modernSensor }.allSatisfy { $0.notCheckable == nil })
        #expect(policy.atpEndpoints[0].references == ["atp-service-locations.yaml:4 via atpgate.yaml:2"])
    }

    @Test("two CRL paths of one host are one endpoint with both references; the policy's own rules are left out")
    func mergesAndSeparates() throws {
        let (policy, folder) = try Self.load("""
            version: 1
            allow: ["updates.contoso.test:443", "http://www.microsoft.com/pki/*"]
            atp:
              instance: contoso-corp
              console: false

            """)
        defer { withExtendedLifetime(folder) {} }
        #expect(Self.rows(policy.atpEndpoints) == [
            "contoso-corpsensorapi.atp.azure.com:443 sensor https",
            "crl.microsoft.com:80 crl plain",
            "www.microsoft.com:80 crl plain",
        ])
        #expect(policy.atpEndpoints.last?.references == ["atp-service-locations.yaml:19 via atpgate.yaml:3"])
        #expect(Self.rows(policy.ruleEndpoints) == ["updates.contoso.test:443 rule https", "www.microsoft.com:80 rule plain"])
    }

    @Test("a deny rule of HOST:PORT form marks the endpoint it refuses")
    func denied() throws {
        let policy = try AtpFixture.policy("""
            version: 1
            deny: ["contoso-corpsensorapi.atp.azure.com:443", "http://crl.microsoft.com/x/*"]
            atp: {instance: contoso-corp, console: false}

            """)
        let endpoints = policy.atpEndpoints
        #expect(endpoints[0].deniedBy == "atpgate.yaml:2")
        // A path rule refuses only some requests: the endpoint stays allowed.
        #expect(endpoints.dropFirst().allSatisfy { $0.deniedBy == nil })
    }

    @Test("without an atp block: no ATP endpoints; the own rules, with addresses, ranges and wildcards as they are")
    func noAtpBlock() throws {
        let policy = try PolicyLoader.parse(yaml: """
            version: 1
            allow:
              - "a.contoso.test:443"
              - "b.contoso.test:8080,8443"
              - "c.contoso.test:8000-8100"
              - "*.contoso.test:443"
              - "192.0.2.7:443"
              - "198.51.100.0/24:443"
              - "https://d.contoso.test:8443/api/*"
            inspection:
              hosts: ["d.contoso.test"]
              ca: {cert: /nonexistent/ca.pem, key: /nonexistent/ca-key.pem}
              clients: {require: false}

            """, file: "p.yaml")
        #expect(!policy.hasAtpBlock)
        #expect(policy.atpEndpoints.isEmpty)
        #expect(Self.rows(policy.ruleEndpoints) == [
            "a.contoso.test:443 rule https",
            "b.contoso.test:8080 rule plain",
            "b.contoso.test:8443 rule plain",
            "c.contoso.test:8000-8100 rule plain",
            "*.contoso.test:443 rule https",
            "192.0.2.7:443 rule https",
            "198.51.100.0/24:443 rule https",
            "d.contoso.test:8443 rule https",
        ])
        #expect(policy.ruleEndpoints.map(\.notCheckable) == [
            nil, nil, nil, "port range 8000-8100", "wildcard (no single name)", nil, "address range", nil,
        ])
    }

    @Test("a catalog with sensor and console on one line: the sensor template tells them apart")
    func flowCatalog() throws {
        let catalog = """
            version: 1
            clouds:
              commercial: {sensor: "{instance}sensorapi.atp.azure.com", console: "{instance}.atp.azure.com"}
            crl: ["crl.microsoft.com:80"]

            """
        let (policy, folder) = try Self.load("version: 1\natp: {instance: contoso}\n", catalog: catalog)
        defer { withExtendedLifetime(folder) {} }
        #expect(Self.rows(policy.atpEndpoints) == [
            "contososensorapi.atp.azure.com:443 sensor https",
            "contoso.atp.azure.com:443 console https",
            "crl.microsoft.com:80 crl plain",
        ])
    }

    @Test("a catalog gone since the load: wildcards are modern, plain rules CRL, *sensorapi names sensors, the rest other")
    func catalogGone() throws {
        let (policy, folder) = try Self.load("version: 1\natp:\n  instance: contoso-corp\n  sensors: [classic, modern]\n"
                                             + "  locations: [Europe]\n", catalog: AtpFixture.modernCatalog)
        try FileManager.default.removeItem(atPath: folder.path + "/" + ServiceLocationCatalog.defaultFileName)
        #expect(Self.rows(policy.atpEndpoints) == [
            "contoso-corpsensorapi.atp.azure.com:443 sensor https",
            "contoso-corp.atp.azure.com:443 rule https",
            "eu1.atp.azure.com:443 rule https",
            "*.endpoint.security.microsoft.com:443 modern https",
            "crl.microsoft.com:80 crl plain",
        ])
    }
}
