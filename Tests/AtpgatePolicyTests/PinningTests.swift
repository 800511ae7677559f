import AtpgateNet
import AtpgatePolicy
import Testing

/// `atp.pin`: sensor API hosts may only be dialled inside the service tag's prefixes;
/// console, CRL and other hosts are vetted as usual.
struct PinningTests {
    static let pinned = try! AtpFixture.policy("""
        version: 1
        atp:
          instance: contoso-corp
          locations: [Europe]
          pin: {service_tags: ServiceTags_Public.json}
        allow: ["other.example.com"]
        networks:
          allow: ["10.1.0.0/16"]
        """)

    static let pinReference = RuleReference("pin:AzureAdvancedThreatProtection (ServiceTags_Public.json)")

    @Test(arguments: [
        // sensor host: inside and outside, IPv4 and IPv6
        ("contoso-corpsensorapi.atp.azure.com", "20.36.120.1", nil),
        ("contoso-corpsensorapi.atp.azure.com", "20.36.120.7", nil),
        ("contoso-corpsensorapi.atp.azure.com", "20.36.120.8", "pin"),
        ("contoso-corpsensorapi.atp.azure.com", "51.140.200.1", nil),
        ("contoso-corpsensorapi.atp.azure.com", "8.8.8.8", "pin"),
        ("contoso-corpsensorapi.atp.azure.com", "2603:1000:4::7f", nil),
        ("contoso-corpsensorapi.atp.azure.com", "2603:1000:4::80", "pin"),
        ("contoso-corpsensorapi.atp.azure.com", "2606:4700::1111", "pin"),
        ("contoso-corpsensorapi.atp.azure.com", "::ffff:20.36.120.1", nil),    // mapped: the same IPv4
        ("contoso-corpsensorapi.atp.azure.com", "64:ff9b::20.36.120.1", "pin"), // NAT64: via a gateway
        // location hosts are pinned too
        ("eu1.atp.azure.com", "20.36.120.2", nil),
        ("eu2.atp.azure.com", "52.1.1.1", "pin"),
        // normal vetting comes first: a built-in range names the built-in rule
        ("contoso-corpsensorapi.atp.azure.com", "10.2.0.1", "builtin:10.0.0.0/8"),
        // a networks.allow carve-out does not get past the pin
        ("contoso-corpsensorapi.atp.azure.com", "10.1.0.1", "pin"),
        // console, CRL and the policy's own hosts are not pinned
        ("contoso-corp.atp.azure.com", "8.8.8.8", nil),
        ("crl.microsoft.com", "8.8.8.8", nil),
        ("www.microsoft.com", "2606:4700::1111", nil),
        ("other.example.com", "8.8.8.8", nil),
        ("us1.atp.azure.com", "8.8.8.8", nil),       // a location not selected
        ("other.example.com", "10.2.0.1", "builtin:10.0.0.0/8"),
    ] as [(String, String, String?)])
    func vetsByHost(host: String, address: String, rule: String?) throws {
        let ip = try Fixture.address(address)
        let expected: VetResult
        switch rule {
        case nil: expected = .allowed
        case "pin": expected = .denied(address: ip, rule: Self.pinReference)
        case let other?: expected = .denied(address: ip, rule: RuleReference(other))
        }
        #expect(Self.pinned.vet([ip], host: try Host.normalize(host)) == expected)
    }

    @Test func firstAddressOutsideDecides() throws {
        let inside = try Fixture.address("20.36.120.3")
        let outside1 = try Fixture.address("2001:db8::1")
        let outside2 = try Fixture.address("9.9.9.9")
        let sensor = Host.name("contoso-corpsensorapi.atp.azure.com")
        #expect(Self.pinned.vet([inside, outside1, outside2], host: sensor) == .denied(address: outside1, rule: Self.pinReference))
        #expect(Self.pinned.vet([inside], host: sensor) == .allowed)
        #expect(Self.pinned.vet([], host: sensor) == .allowed)
        #expect(Self.pinned.summary.contains("pin eu1.atp.azure.com to 3 prefixes (\(Self.pinReference))"))
        // vet(_:) knows no host and so no pin.
        #expect(Self.pinned.vet([outside2]) == .allowed)
        // An IP literal target is never a pinned name.
        #expect(Self.pinned.vet([outside2], host: .ip(outside2)) == .allowed)
    }

    @Test func withoutPinVetByHostIsPlainVetting() throws {
        let policy = try AtpFixture.policy("version: 1\natp: {instance: contoso-corp}\n")
        let sensor = Host.name("contoso-corpsensorapi.atp.azure.com")
        #expect(policy.vet([try Fixture.address("8.8.8.8")], host: sensor) == .allowed)
        let loopback = try Fixture.address("127.0.0.1")
        #expect(policy.vet([loopback], host: sensor) == .denied(address: loopback, rule: RuleReference("builtin:127.0.0.0/8")))
        #expect(!policy.summary.contains { $0.hasPrefix("pin ") })
    }

    @Test func anotherTagAndTheSummary() throws {
        let policy = try AtpFixture.policy("""
            version: 1
            atp: {instance: contoso-corp, pin: {service_tags: ./ServiceTags_Public.json, tag: AzureCloud}}
            """)
        let sensor = Host.name("contoso-corpsensorapi.atp.azure.com")
        #expect(policy.vet([try Fixture.address("52.9.9.9")], host: sensor) == .allowed)
        let outside = try Fixture.address("20.36.120.1")
        #expect(policy.vet([outside], host: sensor) == .denied(address: outside, rule: RuleReference("pin:AzureCloud (ServiceTags_Public.json)")))
        #expect(policy.summary.contains("pin contoso-corpsensorapi.atp.azure.com to 1 prefix (pin:AzureCloud (ServiceTags_Public.json))"))
    }

    /// The modern (v3.x) hosts are Defender for Endpoint's, outside the service tag: a pin never
    /// applies to them, neither to an exact modern name nor to a name under a modern wildcard,
    /// while the classic hosts of the same policy stay pinned.
    @Test func modernHostsAreNeverPinned() throws {
        let catalog = AtpFixture.catalog.replacingOccurrences(
            of: "  gcc: {sensor:",
            with: "    modern: [gw.endpoint.security.microsoft.com, \"*.endpoint.security.microsoft.com\"]\n  gcc: {sensor:")
        let policy = try AtpFixture.policy("""
            version: 1
            atp:
              instance: contoso-corp
              sensors: [classic, modern]
              locations: [Europe]
              pin: {service_tags: ServiceTags_Public.json}
            """, catalog: catalog)
        let outside = try Fixture.address("8.8.8.8")
        for host in ["gw.endpoint.security.microsoft.com", "x.endpoint.security.microsoft.com"] {
            #expect(policy.decide(try Fixture.request(host, 443)).verdict == .allow, "\(host)")
            #expect(policy.vet([outside], host: try Host.normalize(host)) == .allowed, "\(host)")
        }
        for host in ["contoso-corpsensorapi.atp.azure.com", "eu1.atp.azure.com"] {
            #expect(policy.vet([outside], host: try Host.normalize(host)) == .denied(address: outside, rule: Self.pinReference))
        }
        let pinned = policy.summary.filter { $0.hasPrefix("pin ") }
        #expect(pinned.count == 3)
        #expect(!pinned.contains { $0.contains("endpoint.security") })
    }

    @Test func bareAddressesAreNotPrefixes() throws {
        // Microsoft writes every entry as a CIDR; a bare address is malformed data, not a /32.
        let error = try #require(try AtpFixture.loadError("version: 1\natp: {instance: c, pin: {service_tags: ServiceTags_Public.json, tag: Bare}}\n"))
        #expect(error.message == "bad address prefix '20.36.120.1' in tag 'Bare' of service tags file 'ServiceTags_Public.json'")
    }

    static let pinLine = "version: 1\natp:\n  instance: c\n  pin: "

    @Test(arguments: [
        ("{service_tags: ServiceTags_Public.json, tag: Nope}",
         "tag 'Nope' not found in service tags file 'ServiceTags_Public.json'"),
        ("{service_tags: ServiceTags_Public.json, tag: azureadvancedthreatprotection}",
         "tag 'azureadvancedthreatprotection' not found in service tags file 'ServiceTags_Public.json' (did you mean 'AzureAdvancedThreatProtection'?)"),
        ("{service_tags: ServiceTags_Public.json, tag: Broken}",
         "bad address prefix '20.36.120.0/33' in tag 'Broken' of service tags file 'ServiceTags_Public.json'"),
        ("{service_tags: ServiceTags_Public.json, tag: Empty}",
         "tag 'Empty' in service tags file 'ServiceTags_Public.json' has no address prefixes"),
        ("{service_tags: atp-service-locations.yaml}",
         "service tags file 'atp-service-locations.yaml' is not ServiceTags_Public JSON"),
        ("{service_tags: missing.json}", "cannot read service tags file '"),
    ])
    func errorsPointAtThePin(pin: String, fragment: String) throws {
        let error = try #require(try AtpFixture.loadError(Self.pinLine + pin + "\n"))
        #expect(error.file.hasSuffix("/atpgate.yaml"))
        #expect((error.line, error.column) == (4, 8), "\(error)")
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test func wrongJSONShapes() throws {
        for json in ["[]", "{\"values\": {}}", "{\"values\": [{\"name\": \"A\"}]}", "not json", ""] {
            let folder = try TemporaryFolder()
            try folder.write(ServiceLocationCatalog.defaultFileName, AtpFixture.catalog)
            try folder.write("tags.json", json)
            let path = try folder.write("atpgate.yaml", Self.pinLine + "{service_tags: tags.json, tag: A}\n")
            do {
                _ = try PolicyLoader.load(path: path)
                Issue.record("loaded with \(json)")
            } catch {
                #expect(error.message.contains("is not ServiceTags_Public JSON"), "\(error)")
                #expect((error.line, error.column) == (4, 8))
            }
        }
    }
}
