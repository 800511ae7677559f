import AtpgateNet
import AtpgatePolicy
import Foundation
import Testing

/// Every file shipped in policies/ and policies/examples/ loads: the catalog as a catalog,
/// everything else as a policy. Found relative to this source file, not the working directory.
struct ShippedPolicyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static var shippedFiles: [String] {
        ["policies", "policies/examples"].flatMap { folder in
            let path = repository + "/" + folder
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { path + "/" + $0 }
        }
    }

    @Test func theExpectedFilesAreThere() {
        let names = Self.shippedFiles.map { String($0.dropFirst(Self.repository.count + 1)) }
        for expected in ["policies/atpgate.yaml", "policies/atp-service-locations.yaml", "policies/examples/lab.yaml",
                         "policies/examples/site.yaml", "policies/examples/gcc-high.yaml"] {
            #expect(names.contains(expected), "\(names)")
        }
    }

    @Test(arguments: shippedFiles)
    func loads(path: String) throws {
        if path.hasSuffix("/" + ServiceLocationCatalog.defaultFileName) {
            _ = try ServiceLocationCatalog.load(path: path)
        } else {
            let policy = try PolicyLoader.load(path: path)
            for source in policy.sourceFiles { #expect(FileManager.default.isReadableFile(atPath: source), "\(source)") }
            #expect(policy.summary.contains { $0.contains(" via \((path as NSString).lastPathComponent):") })
        }
    }

    @Test func theDefaultPolicy() throws {
        let policy = try PolicyLoader.load(path: Self.repository + "/policies/atpgate.yaml")
        #expect(policy.listen.map(\.description) == ["127.0.0.1:3128"])
        #expect(policy.clients.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(policy.sourceFiles == [Self.repository + "/policies/atpgate.yaml", Self.repository + "/policies/atp-service-locations.yaml"])
        for (host, port) in [("contoso-corpsensorapi.atp.azure.com", 443), ("contoso-corp.atp.azure.com", 443),
                             ("triprd1wceun2sensorapi.atp.azure.com", 443), ("triprd1wceuw3sensorapi.atp.azure.com", 443),
                             ("crl.microsoft.com", 80), ("ctldl.windowsupdate.com", 80)] as [(String, UInt16)] {
            let decision = policy.decide(try Fixture.request(host, port))
            #expect(decision.verdict == .allow, "\(host)")
            #expect(decision.rule.text.hasPrefix("atp-service-locations.yaml:"), "\(decision.rule)")
            #expect(decision.rule.text.contains(" via atpgate.yaml:"), "\(decision.rule)")
        }
        #expect(policy.decide(try Fixture.request("www.microsoft.com", 80, path: "/pki/certs/x.crt")).verdict == .allow)
        #expect(policy.decide(try Fixture.request("www.microsoft.com", 80, path: "/pkiops/certs/x.crt")).verdict == .allow)
        #expect(policy.decide(try Fixture.request("triprd1wcusw2sensorapi.atp.azure.com", 443)).verdict == .deny)
        #expect(policy.decide(try Fixture.request("example.com", 443)).verdict == .deny)
        #expect(policy.decide(try Fixture.request("x.endpoint.security.microsoft.com", 443)).verdict == .deny)   // [classic]
    }

    @Test func theShippedCatalogHoldsMicrosoftsEndpoints() throws {
        let catalog = try ServiceLocationCatalog.load(path: Self.repository + "/policies/atp-service-locations.yaml")
        #expect(catalog.clouds.map(\.name) == ["commercial", "gcc", "gcc-high"])
        #expect(catalog.cloud(named: "commercial")?.sensor == "{instance}sensorapi.atp.azure.com")
        #expect(catalog.cloud(named: "commercial")?.console == "{instance}.atp.azure.com")
        #expect(catalog.cloud(named: "gcc")?.sensor == "{instance}sensorapi.gcc.atp.azure.com")
        #expect(catalog.cloud(named: "gcc-high")?.sensor == "{instance}sensorapi.atp.azure.us")
        let hosts = Dictionary(uniqueKeysWithValues: catalog.locations.map { ("\($0.cloud)/\($0.name)", $0.hosts) })
        #expect(hosts == [
            "commercial/US": ["triprd1wcusw2sensorapi.atp.azure.com", "triprd1wcuswb3sensorapi.atp.azure.com",
                              "triprd1wcuse3sensorapi.atp.azure.com"],
            "commercial/Europe": ["triprd1wceun2sensorapi.atp.azure.com", "triprd1wceuw3sensorapi.atp.azure.com"],
            "commercial/Asia": ["triprd1wcasse2sensorapi.atp.azure.com"],
            "commercial/UK": ["triprd1wcuks2sensorapi.atp.azure.com"],
            "gcc/US GCC": ["trigcc1wcaz1sensorapi.gcc.atp.azure.com"],
            "gcc-high/US GCC High": ["triff1wcva2sensorapi.atp.azure.us"],
        ])
        #expect(catalog.clouds.map(\.modern) == [["*.endpoint.security.microsoft.com"], ["*.endpoint.security.microsoft.us"],
                                                 ["*.endpoint.security.microsoft.us"]])
        #expect(catalog.crl == ["crl.microsoft.com:80", "ctldl.windowsupdate.com:80",
                                "http://www.microsoft.com/pkiops/*", "http://www.microsoft.com/pki/*"])
        #expect(catalog.listing.count == 3 + 6 + 1)
    }

    /// `sensors: [modern]` on the shipped catalog: Defender for Endpoint's simplified domain of
    /// the cloud and nothing else, referenced to the catalog's `modern` line.
    @Test(arguments: [("commercial", "com"), ("gcc", "us"), ("gcc-high", "us"), ("dod", "us")])
    func modernHostsOfEachCloud(cloud: String, domain: String) throws {
        let catalogPath = Self.repository + "/policies/atp-service-locations.yaml"
        let catalogText = try String(contentsOfFile: catalogPath, encoding: .utf8)
        let folder = try TemporaryFolder()
        let policy = try PolicyLoader.load(path: try folder.write("atpgate.yaml", """
            version: 1
            atp: {cloud: \(cloud), sensors: [modern], console: false, crl: false, catalog: \(catalogPath)}
            """))
        let rules = AtpFixture.allowLines(policy)
        #expect(rules.count == 1)
        let rule = try #require(rules.first)
        #expect(rule.hasPrefix("allow *.endpoint.security.microsoft.\(domain):443 (atp-service-locations.yaml:"))
        #expect(rule.hasSuffix(" via atpgate.yaml:2)"))
        // The catalog line named is the cloud's `modern` line.
        let line = try #require(Int(rule.split(separator: ":")[2].split(separator: " ")[0]))
        let lines = catalogText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[line - 1].contains("modern: \"*.endpoint.security.microsoft.\(domain)\""))
        #expect(policy.decide(try Fixture.request("x.endpoint.security.microsoft.\(domain)", 443)).verdict == .allow)
        #expect(policy.decide(try Fixture.request("endpoint.security.microsoft.\(domain)", 443)).verdict == .deny)
    }

    @Test func theGCCHighExample() throws {
        let policy = try PolicyLoader.load(path: Self.repository + "/policies/examples/gcc-high.yaml")
        #expect(policy.decide(try Fixture.request("contoso-govsensorapi.atp.azure.us", 443)).verdict == .allow)
        #expect(policy.decide(try Fixture.request("triff1wcva2sensorapi.atp.azure.us", 443)).verdict == .allow)
        #expect(policy.decide(try Fixture.request("contoso-gov.atp.azure.com", 443)).verdict == .deny)
        #expect(policy.decide(try Fixture.request("x.endpoint.security.microsoft.us", 443)).verdict == .deny)   // [classic]
    }

    @Test func theLabExample() throws {
        let policy = try PolicyLoader.load(path: Self.repository + "/policies/examples/lab.yaml")
        let sensor = Host.name("contoso-labsensorapi.atp.azure.com")
        let addresses = try #require(policy.staticAddresses(for: sensor))
        #expect(policy.vet(addresses, host: sensor) == .allowed)
        #expect(policy.decide(try Fixture.request("contoso-labsensorapi.atp.azure.com", 443)).verdict == .allow)
        #expect(policy.onReload == .cutDenied)
        let other = try Fixture.address("127.0.0.2")
        #expect(policy.vet([other]) == .denied(address: other, rule: RuleReference("builtin:127.0.0.0/8")))
    }

    @Test func theSiteExample() throws {
        let policy = try PolicyLoader.load(path: Self.repository + "/policies/examples/site.yaml")
        #expect(policy.listen.map(\.description) == ["0.0.0.0:3128"])
        #expect(policy.isClientAllowed(try Fixture.address("10.10.1.20")).verdict == .allow)
        #expect(policy.isClientAllowed(try Fixture.address("127.0.0.1")).verdict == .deny)
        #expect(policy.decide(try Fixture.request("triprd1wceun2sensorapi.atp.azure.com", 443)).verdict == .allow)
        // A fleet moving to v3.x sensors: both generations.
        #expect(policy.decide(try Fixture.request("x.endpoint.security.microsoft.com", 443)).verdict == .allow)
        #expect(policy.decide(try Fixture.request("endpoint.security.microsoft.com", 443)).verdict == .deny)
    }
}
