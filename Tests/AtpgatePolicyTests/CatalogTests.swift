import AtpgatePolicy
import Foundation
import Testing

/// The service-location catalog on its own: its API, its listing, and its load errors
/// with the catalog's file:line:column.
struct CatalogTests {
    static let catalog = try! ServiceLocationCatalog.parse(yaml: AtpFixture.catalog, file: "/x/atp-service-locations.yaml")

    @Test func readsCloudsLocationsAndCRL() {
        let c = Self.catalog
        #expect(c.file == "/x/atp-service-locations.yaml")
        #expect(c.clouds.map(\.name) == ["commercial", "gcc", "gcc-high"])
        #expect(c.clouds.map(\.sensor) == ["{instance}sensorapi.atp.azure.com", "{instance}sensorapi.gcc.atp.azure.com",
                                           "{instance}sensorapi.atp.azure.us"])
        #expect(c.clouds.map(\.console) == ["{instance}.atp.azure.com", nil, nil])
        #expect(c.clouds.map(\.line) == [3, 6, 7])
        #expect(c.locations.map(\.name) == ["US", "Europe", "US GCC", "US GCC High"])
        #expect(c.locations.map(\.cloud) == ["commercial", "commercial", "gcc", "gcc-high"])
        #expect(c.locations.map(\.line) == [9, 14, 15, 16])
        #expect(c.locations[0].hosts == ["us1.atp.azure.com", "us2.atp.azure.com"])
        #expect(c.locations(in: "commercial").map(\.name) == ["US", "Europe"])
        #expect(c.cloud(named: "gcc")?.console == nil)
        #expect(c.cloud(named: "dod") == nil)
        #expect(c.crl == ["crl.microsoft.com:80", "http://www.microsoft.com/pkiops/*"])
        #expect(c.clouds.map(\.modern) == [[], [], []])
    }

    @Test func readsModernHostsInEverySpelling() throws {
        let c = try ServiceLocationCatalog.parse(yaml: AtpFixture.modernCatalog, file: "atp-service-locations.yaml")
        #expect(c.clouds.map(\.modern) == [["*.endpoint.security.microsoft.com"], ["*.endpoint.security.microsoft.us"],
                                           ["*.endpoint.security.microsoft.us"]])
        #expect(c.listing.first == "commercial: sensor {instance}sensorapi.atp.azure.com, console {instance}.atp.azure.com, "
                                   + "modern *.endpoint.security.microsoft.com")
        #expect(c.listing.contains("gcc: sensor {instance}sensorapi.gcc.atp.azure.com, modern *.endpoint.security.microsoft.us"))
        let mixed = try ServiceLocationCatalog.parse(yaml: """
            version: 1
            clouds:
              gcc:
                sensor: a.com
                modern: ["*.Endpoint.Example.COM.", GW.example.com]
            """, file: "c.yaml")
        #expect(mixed.clouds.first?.modern == ["*.endpoint.example.com", "gw.example.com"])
        #expect(mixed.listing.first == "gcc: sensor a.com, modern *.endpoint.example.com, gw.example.com")
    }

    @Test func listing() {
        #expect(Self.catalog.listing == [
            "commercial: sensor {instance}sensorapi.atp.azure.com, console {instance}.atp.azure.com",
            "commercial / US: us1.atp.azure.com, us2.atp.azure.com",
            "commercial / Europe: eu1.atp.azure.com, eu2.atp.azure.com",
            "gcc: sensor {instance}sensorapi.gcc.atp.azure.com",
            "gcc / US GCC: gcc1.gcc.atp.azure.com",
            "gcc-high: sensor {instance}sensorapi.atp.azure.us",
            "gcc-high / US GCC High: high1.atp.azure.us",
            "crl: crl.microsoft.com:80, http://www.microsoft.com/pkiops/*",
        ])
    }

    @Test func hostsAreNormalisedAndLocationsMayComeBeforeTheirCloud() throws {
        let c = try ServiceLocationCatalog.parse(yaml: """
            version: 1
            locations:
              - {name: Here, cloud: gcc, hosts: A.Example.COM.}
            clouds:
              gcc: {sensor: "{INSTANCE}.gcc.example.com"}
            """, file: "c.yaml")
        #expect(c.locations.first?.hosts == ["a.example.com"])
        #expect(c.clouds.first?.sensor == "{instance}.gcc.example.com")
        #expect(c.crl.isEmpty)
        #expect(c.listing.last == "crl: (none)")
    }

    @Test func sameNameInTwoCloudsIsAllowed() throws {
        let c = try ServiceLocationCatalog.parse(yaml: """
            version: 1
            clouds: {commercial: {sensor: a.com}, gcc: {sensor: b.com}}
            locations:
              - {name: East, cloud: commercial, hosts: [e1.a.com]}
              - {name: east, cloud: gcc, hosts: [e1.b.com]}
            """, file: "c.yaml")
        #expect(c.locations.count == 2)
    }

    typealias Case = ErrorCase

    static let clouds = "version: 1\nclouds: {commercial: {sensor: \"{instance}s.a.com\"}, gcc: {sensor: \"{instance}s.b.com\"}}\n"

    @Test(arguments: [
        Case("", 1, 1, "catalog file is empty"),
        Case("clouds: {}\n", 1, 1, "missing required key 'version'"),
        Case("version: 2\n", 1, 10, "version must be 1"),
        Case("version: 1\nlocation: []\n", 2, 1, "unknown key 'location' in the catalog (did you mean 'locations'?)"),
        Case("version: 1\nclouds: [commercial]\n", 2, 9, "clouds must be a mapping"),
        Case("version: 1\nclouds:\n  comercial: {sensor: a.com}\n", 3, 3, "unknown key 'comercial' in clouds (did you mean 'commercial'?)"),
        Case("version: 1\nclouds:\n  azure: {sensor: a.com}\n", 3, 3, "unknown key 'azure' in clouds"),
        Case("version: 1\nclouds:\n  gcc: {sensr: a.com}\n", 3, 9, "unknown key 'sensr' in clouds.gcc (did you mean 'sensor'?)"),
        Case("version: 1\nclouds:\n  gcc: {console: a.com}\n", 3, 8, "clouds.gcc needs 'sensor'"),
        Case("version: 1\nclouds:\n  gcc: {sensor: \"{instance} s.com\"}\n", 3, 17, "bad host name in clouds.gcc.sensor"),
        Case("version: 1\nclouds:\n  gcc: {sensor: \"*.a.com\"}\n", 3, 17, "bad host name in clouds.gcc.sensor"),
        Case("version: 1\nclouds:\n  gcc: {sensor: \"a.com:443\"}\n", 3, 17, "bad host name in clouds.gcc.sensor"),
        Case("version: 1\nclouds:\n  gcc: {sensor: 10.0.0.1}\n", 3, 17, "clouds.gcc.sensor must be a host name, not an address"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, console: \"{instance}..a.com\"}\n", 3, 33, "bad host name in clouds.gcc.console"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modren: \"*.b.com\"}\n", 3, 24,
             "unknown key 'modren' in clouds.gcc (did you mean 'modern'?)"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"*.com\"}\n", 3, 32,
             "clouds.gcc.modern entry '*.com' is too wide (a wildcard needs at least two labels after '*.')"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"*.{instance}.b.com\"}\n", 3, 32,
             "clouds.gcc.modern must not use {instance}"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"*.10.0.0.1\"}\n", 3, 32,
             "clouds.gcc.modern entry '*.10.0.0.1' must be a name or *.name, not an address"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"10.0.0.1\"}\n", 3, 32, "not an address"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"*.b.com:443\"}\n", 3, 32, "bad host name in clouds.gcc.modern"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"*.*.b.com\"}\n", 3, 32, "bad host name in clouds.gcc.modern"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"*\"}\n", 3, 32, "bad host name in clouds.gcc.modern"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: \"https://b.com\"}\n", 3, 32, "bad host name in clouds.gcc.modern"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: [\"*.b.com\", \"*.B.com.\"]}\n", 3, 44,
             "duplicate '*.b.com' in clouds.gcc.modern"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: []}\n", 3, 32, "clouds.gcc.modern needs at least one host"),
        Case("version: 1\nclouds:\n  gcc: {sensor: a.com, modern: ~}\n", 3, 32, "clouds.gcc.modern must be a string or a list"),
        Case(clouds + "locations: {name: x}\n", 3, 12, "locations must be a list"),
        Case(clouds + "locations: [x]\n", 3, 13, "each entry of locations must be a mapping"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, host: [a.com]}\n", 4, 27, "unknown key 'host' in locations (did you mean 'hosts'?)"),
        Case(clouds + "locations:\n  - {cloud: gcc, hosts: [a.com]}\n", 4, 5, "each entry of locations needs 'name'"),
        Case(clouds + "locations:\n  - {name: X, hosts: [a.com]}\n", 4, 5, "location 'X' needs 'cloud'"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc}\n", 4, 5, "location 'X' needs 'hosts'"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: []}\n", 4, 34, "locations.hosts needs at least one host"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: [a.com, \"bad host\"]}\n", 4, 42, "bad host name in locations.hosts"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: [\"a.com:443\"]}\n", 4, 35, "bad host name in locations.hosts"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: [\"*.a.com\"]}\n", 4, 35, "bad host name in locations.hosts"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: [\"{instance}.a.com\"]}\n", 4, 35, "bad host name in locations.hosts"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: [\"[::1]\"]}\n", 4, 35, "must be a name, not an address"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: [1.2.3.4]}\n", 4, 35, "must be a name, not an address"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc-high, hosts: [a.com]}\n", 4, 22,
             "unknown cloud 'gcc-high' in location 'X' (known: commercial, gcc)"),
        Case(clouds + "locations:\n  - {name: X, cloud: gcc, hosts: [a.com]}\n  - {name: x, cloud: gcc, hosts: [b.com]}\n", 5, 12,
             "duplicate location 'x' in cloud gcc"),
        Case(clouds + "locations:\n  - {name: All, cloud: gcc, hosts: [a.com]}\n", 4, 12, "location name 'all' is reserved"),
        Case(clouds + "locations:\n  - {name: \"\", cloud: gcc, hosts: [a.com]}\n", 4, 12, "bad location name"),
        Case(clouds + "locations:\n  - {name: \" X\", cloud: gcc, hosts: [a.com]}\n", 4, 12, "bad location name"),
        Case(clouds + "locations:\n  - {name: \"a,b\", cloud: gcc, hosts: [a.com]}\n", 4, 12, "bad location name"),
        Case(clouds + "crl: [\"crl.microsoft.com:80\", \"https://x.com/a\"]\n", 3, 31, "only http:// rules take a path"),
        Case(clouds + "crl: [\"http://www.microsoft.com/pki*\"]\n", 3, 7, "bad path in rule"),
        Case(clouds + "crl: ~\n", 3, 6, "crl must be a string or a list"),
        Case("version: 1\nclouds: {gcc: {sensor: a.com}, gcc: {sensor: b.com}}\n", 2, 32, "duplicate key 'gcc'"),
        Case("version: 1\nclouds: {gcc: {sensor: a.com}\n", 3, 1, "YAML syntax error"),
    ])
    func reportsPosition(_ c: Case) throws {
        do {
            _ = try ServiceLocationCatalog.parse(yaml: c.yaml, file: "atp-service-locations.yaml")
            Issue.record("loaded: \(c.yaml)")
        } catch {
            #expect(error.file == "atp-service-locations.yaml")
            c.check(error)
        }
    }

    @Test func loadReportsAnUnreadableFile() throws {
        let folder = try TemporaryFolder()
        do {
            _ = try ServiceLocationCatalog.load(path: folder.path + "/missing.yaml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.file == folder.path + "/missing.yaml")
            #expect((error.line, error.column) == (0, 0))
            #expect(error.message.hasPrefix("cannot read catalog file: "))
        }
        let path = try folder.write("c.yaml", AtpFixture.catalog)
        #expect(try ServiceLocationCatalog.load(path: path).locations.count == 4)
    }
}
