import AtpgatePolicy
import Testing

/// Errors in `atp:` blocks and `{instance}` rules: each at the offending policy node.
struct AtpErrorTests {
    typealias Case = ErrorCase

    @Test(arguments: [
        // locations: unknown, of another cloud, duplicate, 'all' mixed in; each lists the known ones
        Case("version: 1\natp:\n  instance: c\n  locations: [Europe, Mars]\n", 4, 23,
             "unknown location 'Mars' (known for commercial: US, Europe)"),
        Case("version: 1\natp:\n  instance: c\n  locations:\n    - europe\n    - US GCC\n", 6, 7,
             "location 'US GCC' belongs to cloud gcc, not commercial (known for commercial: US, Europe)"),
        Case("version: 1\natp:\n  instance: c\n  cloud: gcc\n  locations: [Europe]\n", 5, 15,
             "location 'Europe' belongs to cloud commercial, not gcc (known for gcc: US GCC)"),
        Case("version: 1\natp:\n  instance: c\n  cloud: gcc-high\n  locations: [us]\n", 5, 15,
             "location 'US' belongs to cloud commercial, not gcc-high (known for gcc-high: US GCC High)"),
        Case("version: 1\natp:\n  instance: c\n  locations: [Europe, EUROPE]\n", 4, 23, "duplicate location 'Europe'"),
        Case("version: 1\natp:\n  instance: c\n  locations: [US, all]\n", 4, 19, "'all' must be the only entry"),
        Case("version: 1\natp:\n  instance: c\n  locations: ~\n", 4, 14, "atp.locations must be a string or a list"),
        // instance
        Case("version: 1\natp: {}\n", 2, 6, "atp needs 'instance'"),
        Case("version: 1\natp:\n  locations: [Europe]\n", 3, 3, "atp needs 'instance'"),
        Case("version: 1\natp: {instance: -corp}\n", 2, 17, "atp.instance '-corp' must be a DNS label"),
        Case("version: 1\natp: {instance: corp-}\n", 2, 17, "must be a DNS label"),
        Case("version: 1\natp: {instance: a_b}\n", 2, 17, "must be a DNS label"),
        Case("version: 1\natp: {instance: a.b}\n", 2, 17, "must be a DNS label"),
        Case("version: 1\natp: {instance: \"\"}\n", 2, 17, "must be a DNS label"),
        Case("version: 1\natp: {instance: \"contoso corp\"}\n", 2, 17, "must be a DNS label"),
        Case("version: 1\natp: {instance: \"\(String(repeating: "a", count: 64))\"}\n", 2, 17, "must be a DNS label"),
        Case("version: 1\natp: {instance: ~}\n", 2, 17, "atp.instance must be a string"),
        Case("version: 1\natp:\n  instance: \(String(repeating: "a", count: 60))\n", 3, 13,
             "atp.instance makes a bad sensor host: label longer than 63 octets"),
        // sensors: names, duplicates, empty, and what only classic sensors use
        Case("version: 1\natp:\n  instance: c\n  sensors: [classic, modren]\n", 4, 22,
             "unknown sensor generation 'modren' in atp.sensors (did you mean 'modern'?)"),
        Case("version: 1\natp:\n  instance: c\n  sensors: [v3]\n", 4, 13,
             "unknown sensor generation 'v3' in atp.sensors (classic for v2.x sensors, modern for v3.x)"),
        Case("version: 1\natp:\n  instance: c\n  sensors: [classic, Classic]\n", 4, 22, "duplicate 'classic' in atp.sensors"),
        Case("version: 1\natp:\n  instance: c\n  sensors: []\n", 4, 12, "atp.sensors must name at least one of classic, modern"),
        Case("version: 1\natp:\n  instance: c\n  sensors: ~\n", 4, 12, "atp.sensors must be a string or a list"),
        Case("version: 1\natp: {instance: c, sensors: {modern: true}}\n", 2, 29, "atp.sensors must be a string or a list"),
        Case("version: 1\natp:\n  instance: c\n  sensor: [modern]\n", 4, 3, "unknown key 'sensor' in atp (did you mean 'sensors'?)"),
        Case("version: 1\natp:\n  sensors: [classic]\n", 3, 3, "atp needs 'instance'"),
        Case("version: 1\natp:\n  sensors: [modern]\n  locations: [Europe]\n", 4, 14,
             "atp.locations selects classic sensor hosts, but atp.sensors has no classic"),
        Case("version: 1\natp:\n  instance: c\n  sensors: modern\n  locations: []\n", 5, 14,
             "atp.locations selects classic sensor hosts"),
        Case("version: 1\natp:\n  sensors: [modern]\n  pin: {service_tags: ServiceTags_Public.json}\n", 4, 8,
             "atp.pin applies to classic sensor hosts only"),
        // {instance} in rules
        Case("version: 1\nallow:\n  - \"{instance}sensorapi.atp.azure.com\"\n", 3, 5, "{instance} needs atp.instance"),
        Case("version: 1\ndeny: [\"{instance}.evil.com\"]\n", 2, 8, "{instance} needs atp.instance"),
        Case("version: 1\natp: {instance: c}\nallow: [\"{instanse}.a.com\"]\n", 3, 9, "bad host in rule"),
        // keys and values
        Case("version: 1\natp:\n  instnace: c\n", 3, 3, "unknown key 'instnace' in atp (did you mean 'instance'?)"),
        Case("version: 1\natp: [c]\n", 2, 6, "atp must be a mapping"),
        Case("version: 1\natp: {instance: c, cloud: azure}\n", 2, 27, "atp.cloud must be commercial, gcc or gcc-high (or dod), got 'azure'"),
        Case("version: 1\natp: {instance: c, console: yes}\n", 2, 29, "atp.console must be true or false"),
        Case("version: 1\natp: {instance: c, crl: 1}\n", 2, 25, "atp.crl must be true or false"),
        Case("version: 1\natp: {instance: c, catalog: \"\"}\n", 2, 29, "atp.catalog must not be empty"),
        Case("version: 1\natp: {instance: c, pin: {tag: X}}\n", 2, 25, "atp.pin needs 'service_tags'"),
        Case("version: 1\natp: {instance: c, pin: {service_tags: a.json, tags: X}}\n", 2, 48,
             "unknown key 'tags' in atp.pin (did you mean 'tag'?)"),
        Case("version: 1\natp: {instance: c, pin: {service_tags: a.json, tag: \"\"}}\n", 2, 53, "atp.pin.tag must not be empty"),
        // the catalog
        Case("version: 1\natp: {instance: c, catalog: nowhere.yaml}\n", 2, 29, "cannot read catalog file"),
    ])
    func reportsPosition(_ c: Case) throws {
        let error = try #require(try AtpFixture.loadError(c.yaml))
        #expect(error.file.hasSuffix("/atpgate.yaml"))
        c.check(error)
    }

    @Test func missingDefaultCatalogIsReportedAtTheAtpKey() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("atpgate.yaml", "version: 1\nallow: []\natp:\n  instance: c\n")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(path: path) }
        do {
            _ = try PolicyLoader.load(path: path)
        } catch {
            #expect((error.file, error.line, error.column) == (path, 3, 1))
            #expect(error.message.contains("cannot read catalog file '\(folder.path)/atp-service-locations.yaml'"), "\(error)")
        }
    }

    @Test func catalogErrorsCarryTheCatalogsPosition() throws {
        let broken = AtpFixture.catalog.replacingOccurrences(of: "  - {name: US GCC,", with: "  - {nmae: US GCC,")
        let error = try #require(try AtpFixture.loadError("version: 1\natp: {instance: c}\n", catalog: broken))
        #expect(error.file.hasSuffix("/atp-service-locations.yaml"))
        #expect((error.line, error.column) == (15, 6))
        #expect(error.message == "unknown key 'nmae' in locations (did you mean 'name'?)")
    }

    @Test func cloudMissingFromTheCatalog() throws {
        let commercialOnly = """
            version: 1
            clouds:
              commercial: {sensor: "{instance}sensorapi.atp.azure.com"}
            """
        let error = try #require(try AtpFixture.loadError("version: 1\natp: {instance: c, cloud: gcc}\n", catalog: commercialOnly))
        #expect((error.line, error.column) == (2, 27))
        #expect(error.message == "cloud gcc is not in catalog atp-service-locations.yaml (it has: commercial)")
    }

    @Test(arguments: [
        ("version: 1\natp: {instance: contoso-corp}\nallow: [\"{instance}sensorapi.atp.azure.com\"]\n",
         "allow contoso-corpsensorapi.atp.azure.com:443 (atpgate.yaml:3)"),
        ("version: 1\nallow: [\"http://{instance}.example.com/pki/*\"]\natp: {instance: Contoso-Corp}\n",
         "allow http://contoso-corp.example.com:80/pki/* (atpgate.yaml:2)"),
        ("version: 1\natp: {instance: c1}\nallow: [\"{instance}-a.{instance}.example.com:80,443\"]\n",
         "allow c1-a.c1.example.com:80,443 (atpgate.yaml:3)"),
        ("version: 1\natp: {instance: c1}\ndeny: [\"*.{instance}.example.com\"]\n",
         "deny *.c1.example.com:* (atpgate.yaml:3)"),
    ])
    func instanceExpandsInRules(yaml: String, line: String) throws {
        #expect(try AtpFixture.policy(yaml).summary.contains(line))
    }
}
