import AtpgatePolicy
import Foundation
import Testing

/// Modern (v3.x) sensor hosts end to end: `explain`, `check`, `locations` and `pac` through the built
/// binary on the shipped catalog (the PAC file evaluated by node: AtpgateClientConfigTests.ModernSensorPACTests).
struct ModernSensorCLITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let catalog = repository + "/policies/" + ServiceLocationCatalog.defaultFileName

    /// The shipped catalog's first line holding `text` (after the line starting with `start`, if
    /// given), 1-based: rule references name it.
    static func catalogLine(containing text: String, after start: String? = nil) throws -> Int {
        let lines = try String(contentsOfFile: catalog, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var from = lines.startIndex
        if let start { from = try #require(lines.firstIndex { $0.hasPrefix(start) }) }
        return try #require(lines[from...].firstIndex { $0.contains(text) }) + 1
    }

    /// A policy beside nothing: the shipped catalog is named by its absolute path.
    static func writePolicy(_ folder: CLITests.Folder, atp: String) throws -> String {
        try folder.write("atpgate.yaml", Data("version: 1\natp: {\(atp), catalog: \"\(catalog)\"}\n".utf8))
    }

    static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    @Test(.enabled(if: CLITests.binary != nil))
    func explainAllowsTheModernDomainOnlyWhenSelected() throws {
        let folder = try CLITests.Folder()
        let modern = try Self.writePolicy(folder, atp: "instance: contoso-corp, sensors: [modern]")
        let allowed = try CLITests.run(["explain", "--policy", modern, "x.endpoint.security.microsoft.com:443"])
        let line = try Self.catalogLine(containing: "modern: \"*.endpoint.security.microsoft.com\"")
        #expect(allowed.status == 0, "\(Self.text(allowed.stdout))\(allowed.stderr)")
        #expect(Self.text(allowed.stdout).hasPrefix("allow\nrule: atp-service-locations.yaml:\(line) via atpgate.yaml:2\n"))
        for target in ["endpoint.security.microsoft.com:443", "x.endpoint.security.microsoft.com.evil.com:443",
                       "x.endpoint.security.microsoft.com:8443", "x.endpoint.security.microsoft.us:443",
                       "contoso-corpsensorapi.atp.azure.com:443"] {
            let denied = try CLITests.run(["explain", "--policy", modern, target])
            #expect(denied.status == 1, "\(target): \(Self.text(denied.stdout))\(denied.stderr)")
            #expect(Self.text(denied.stdout).hasPrefix("deny\nrule: default\n"), "\(target)")
        }

        let classic = try Self.writePolicy(folder, atp: "instance: contoso-corp")
        let denied = try CLITests.run(["explain", "--policy", classic, "x.endpoint.security.microsoft.com:443"])
        #expect(denied.status == 1, "\(Self.text(denied.stdout))\(denied.stderr)")
        #expect(Self.text(denied.stdout).hasPrefix("deny\n"))
    }

    @Test(.enabled(if: CLITests.binary != nil))
    func checkListsTheModernRulesAndReportsBadSensors() throws {
        let folder = try CLITests.Folder()
        let policy = try Self.writePolicy(folder, atp: "cloud: gcc-high, sensors: [classic, modern], instance: contoso-gov")
        let checked = try CLITests.run(["check", "--policy", policy])
        #expect(checked.status == 0, "\(checked.stderr)")
        let lines = Self.text(checked.stdout).split(separator: "\n").map(String.init)
        // gcc and gcc-high list the same domain: the reference names gcc-high's own line.
        let modern = try Self.catalogLine(containing: "modern: \"*.endpoint.security.microsoft.us\"", after: "  gcc-high:")
        #expect(lines.filter { $0.contains("endpoint.security") }
                == ["  allow *.endpoint.security.microsoft.us:443 (atp-service-locations.yaml:\(modern) via atpgate.yaml:2)"])
        let sensor = try Self.catalogLine(containing: "sensor: \"{instance}sensorapi.atp.azure.us\"")
        #expect(lines.contains("  allow contoso-govsensorapi.atp.azure.us:443 (atp-service-locations.yaml:\(sensor) via atpgate.yaml:2)"))

        let bad = try folder.write("bad.yaml", Data("version: 1\natp:\n  instance: c\n  sensors: [classic, modrn]\n".utf8))
        let failed = try CLITests.run(["check", "--policy", bad])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("bad.yaml:4:22: unknown sensor generation 'modrn' in atp.sensors (did you mean 'modern'?)"),
                "\(failed.stderr)")
    }

    @Test(.enabled(if: CLITests.binary != nil))
    func locationsShowsTheModernHostsPerCloud() throws {
        let listed = try CLITests.run(["locations", "--catalog", Self.catalog])
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = Self.text(listed.stdout).split(separator: "\n").map(String.init)
        #expect(lines.contains("commercial: sensor {instance}sensorapi.atp.azure.com, console {instance}.atp.azure.com, "
                               + "modern *.endpoint.security.microsoft.com"))
        #expect(lines.contains("gcc: sensor {instance}sensorapi.gcc.atp.azure.com, modern *.endpoint.security.microsoft.us"))
        #expect(lines.contains("gcc-high: sensor {instance}sensorapi.atp.azure.us, modern *.endpoint.security.microsoft.us"))
    }

    @Test(.enabled(if: CLITests.binary != nil))
    func pacCommandRoutesTheModernDomain() throws {
        let folder = try CLITests.Folder()
        let policy = try Self.writePolicy(folder, atp: "instance: contoso-corp, sensors: [classic, modern]")
        let pac = try CLITests.run(["pac", "--policy", policy, "--proxy", "proxy.corp.example:3128"])
        #expect(pac.status == 0, "\(pac.stderr)")
        #expect(Self.text(pac.stdout).contains(#"dnsDomainIs(host, ".endpoint.security.microsoft.com")"#))
        let classic = try Self.writePolicy(folder, atp: "instance: contoso-corp")
        let without = try CLITests.run(["pac", "--policy", classic, "--proxy", "proxy.corp.example:3128"])
        #expect(!Self.text(without.stdout).contains("endpoint.security"))
    }
}
