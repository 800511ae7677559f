import AtpgatePolicy
import Testing

/// Every `inspection:` error, and every refused `https://` rule, names file:line:column of the
/// offending node in one line.
struct InspectionErrorTests {
    typealias Case = ErrorCase

    /// Lines 1-5: version, inspection, hosts (a.example.com, b.example.com), ca, clients; the case adds
    /// its lines (to the section when indented) from line 6.
    static func section(_ tail: String, clients: String = "{ca: clients-ca.pem}") -> String {
        "version: 1\ninspection:\n  hosts: [a.example.com, b.example.com]\n  ca: {cert: ca.pem, key: ca-key.pem}\n"
            + "  clients: \(clients)\n" + tail
    }

    static let pin = String(repeating: "0f", count: 32)

    @Test(arguments: [
        // shape and unknown keys, with suggestions
        Case("version: 1\ninspection: [a.example.com]\n", 2, 13, "inspection must be a mapping"),
        Case(section("  upstrem: {}\n"), 6, 3, "unknown key 'upstrem' in inspection (did you mean 'upstream'?)"),
        Case("version: 1\ninspection:\n  hosts: [a.example.com]\n  ca: {cert: ca.pem, key: k.pem, chain: c.pem}\n", 4, 34,
             "unknown key 'chain' in inspection.ca"),
        Case(section("", clients: "{ca: c.pem, requires: true}"), 5, 24, "unknown key 'requires' in inspection.clients (did you mean 'require'?)"),
        Case(section("  upstream: {trusts: system}\n"), 6, 14, "unknown key 'trusts' in inspection.upstream (did you mean 'trust'?)"),
        Case(section("  upstream:\n    client_certs:\n      - {match: default, cert: c.pem, key: k.pem, chain: x.pem}\n"), 8, 51,
             "unknown key 'chain' in inspection.upstream.client_certs"),
        Case(section("  upstream:\n    client_certs:\n      - {match: {subjectcn: DC01}, cert: c.pem, key: k.pem}\n"), 8, 18,
             "unknown key 'subjectcn' in inspection.upstream.client_certs match (did you mean 'subject_cn'?)"),
        // required keys
        Case("version: 1\ninspection:\n  ca: {cert: ca.pem, key: k.pem}\n", 3, 3, "inspection needs 'hosts'"),
        Case("version: 1\ninspection:\n  hosts: [a.example.com]\n  clients: {require: false}\n", 3, 3, "inspection needs 'ca'"),
        Case("version: 1\ninspection:\n  hosts: [a.example.com]\n  ca: {cert: ca.pem}\n", 4, 7, "inspection.ca needs 'key'"),
        Case("version: 1\ninspection:\n  hosts: [a.example.com]\n  ca: {key: k.pem}\n", 4, 7, "inspection.ca needs 'cert'"),
        Case("version: 1\ninspection:\n  hosts: [a.example.com]\n  ca: {cert: \"\", key: k.pem}\n", 4, 14, "inspection.ca.cert must not be empty"),
        Case("version: 1\ninspection:\n  hosts: [a.example.com]\n  ca: {cert: ~, key: k.pem}\n", 4, 14, "inspection.ca.cert must be a string"),
        // hosts
        Case("version: 1\ninspection:\n  hosts: []\n  ca: {cert: ca.pem, key: k.pem}\n", 3, 10, "inspection.hosts must name at least one host"),
        Case("version: 1\ninspection:\n  hosts: [A.example.com, \"a.example.com.\"]\n", 3, 26, "duplicate host 'a.example.com' in inspection.hosts"),
        Case("version: 1\ninspection:\n  hosts: [\"*.a.com\", \"*.A.com\"]\n", 3, 22, "duplicate host '*.a.com' in inspection.hosts"),
        Case("version: 1\ninspection:\n  hosts: [\"[2001:db8::1]\", \"2001:db8::1\"]\n", 3, 28, "duplicate host '[2001:db8::1]'"),
        Case("version: 1\ninspection:\n  hosts: [\"a.example.com:443\"]\n", 3, 11, "without port or prefix"),
        Case("version: 1\ninspection:\n  hosts: [\"10.0.0.0/8\"]\n", 3, 11, "without port or prefix"),
        Case("version: 1\ninspection:\n  hosts: [\"[2001:db8::1]:443\"]\n", 3, 11, "without port or prefix"),
        Case("version: 1\ninspection:\n  hosts: [\"a.*.com\"]\n", 3, 11, "'*' is only allowed as a leading '*.' label"),
        Case("version: 1\ninspection:\n  hosts: [\"*.10.0.0.1\"]\n", 3, 11, "a wildcard needs a name suffix"),
        Case("version: 1\ninspection:\n  hosts: [\"a..com\"]\n", 3, 11, "empty label"),
        Case("version: 1\ninspection:\n  hosts: [\"{instance}sensorapi.atp.azure.com\"]\n", 3, 11, "{instance} needs atp.instance"),
        // clients
        Case(section("", clients: "{pins: []}"), 5, 12, "inspection.clients needs 'ca' or 'pins'"),
        Case(section("", clients: "{require: yes}"), 5, 22, "inspection.clients.require must be true or false"),
        Case(section("", clients: "{pins: [\"\(String(pin.dropLast()))\"]}"), 5, 20, "must be a SHA-256: 64 hex digits"),
        Case(section("", clients: "{pins: [\"\(String(pin.dropLast()))g\"]}"), 5, 20, "must be a SHA-256"),
        Case(section("", clients: "{pins: [\"0:f\(String(pin.dropFirst(3)))\"]}"), 5, 20, "must be a SHA-256"),
        Case(section("", clients: "{pins: [\"\(pin)\", \"\(pin.uppercased())\"]}"), 5, 88, "duplicate pin in inspection.clients.pins"),
        Case(section("  upstream:\n    client_certs: [{match: default, cert: c.pem, key: k.pem}]\n", clients: "{require: false}"),
             5, 22, "inspection.clients.require: false cannot go with inspection.upstream.client_certs"),
        // upstream
        Case(section("  upstream: {trust: \"\"}\n"), 6, 21, "inspection.upstream.trust must not be empty"),
        Case(section("  upstream: {client_certs: {match: default}}\n"), 6, 28, "inspection.upstream.client_certs must be a list"),
        Case(section("  upstream:\n    client_certs:\n      - {match: default, cert: d.pem, key: d-key.pem}\n"
                     + "      - {match: {subject_cn: DC01*}, cert: c.pem, key: k.pem}\n"), 9, 9,
             "'default' must be the last entry of inspection.upstream.client_certs"),
        Case(section("  upstream:\n    client_certs:\n      - {match: {subject_cn: DC01*, san: a.com}, cert: c.pem, key: k.pem}\n"), 8, 17,
             "must name exactly one of subject_cn, san, sha256"),
        Case(section("  upstream:\n    client_certs:\n      - {match: {}, cert: c.pem, key: k.pem}\n"), 8, 17,
             "must name exactly one of subject_cn, san, sha256"),
        Case(section("  upstream:\n    client_certs:\n      - {match: DC01*, cert: c.pem, key: k.pem}\n"), 8, 17,
             "match must be default or one of"),
        Case(section("  upstream:\n    client_certs:\n      - {match: {sha256: abc}, cert: c.pem, key: k.pem}\n"), 8, 26,
             "inspection.upstream.client_certs match.sha256 must be a SHA-256"),
        Case(section("  upstream:\n    client_certs:\n      - {match: {subject_cn: \"\"}, cert: c.pem, key: k.pem}\n"), 8, 30,
             "must be a non-empty name pattern"),
        Case(section("  upstream:\n    client_certs:\n      - {cert: c.pem, key: k.pem}\n"), 8, 9, "needs 'match'"),
        Case(section("  upstream:\n    client_certs:\n      - {match: default, key: k.pem}\n"), 8, 9, "needs 'cert'"),
        Case(section("  upstream:\n    client_certs:\n      - {match: default, cert: c.pem}\n"), 8, 9, "needs 'key'"),
        Case(section("  upstream:\n    client_certs:\n      - {match: default, cert: c.pem, key: \"\"}\n"), 8, 44, "must not be empty"),
    ])
    func sectionErrors(_ c: Case) throws {
        let error = try #require(Fixture.loadError(c.yaml))
        #expect(error.file == "atpgate.yaml")
        c.check(error)
    }

    /// Without `clients`, a required certificate has nothing to verify against: reported at the section.
    @Test func clientsAreNeededUnlessNotRequired() throws {
        let error = try #require(Fixture.loadError("version: 1\ninspection:\n  hosts: [a.example.com]\n  ca: {cert: ca.pem, key: k.pem}\n"))
        Case("", 3, 3, "inspection.clients needs 'ca' or 'pins'").check(error)
    }

    @Test(arguments: [
        // an https:// rule needs the section, and its host inside one inspection.hosts entry
        Case("version: 1\nallow:\n  - \"https://a.example.com/x/*\"\n", 3, 5, "https:// rule needs an inspection section"),
        Case("version: 1\ndeny: [\"https://a.example.com/x/*\"]\n", 2, 8, "https:// rule needs an inspection section"),
        Case(section("allow:\n  - \"https://c.example.com/x/*\"\n"), 7, 5,
             "host 'c.example.com' of https:// rule 'https://c.example.com/x/*' is not in inspection.hosts (a.example.com, b.example.com)"),
        Case(section("deny:\n  - \"https://c.example.com/x/*\"\n"), 7, 5, "is not in inspection.hosts"),
        Case(section("allow:\n  - \"https://*.example.com/x/*\"\n"), 7, 5, "host '*.example.com' of https:// rule"),
        Case(section("allow:\n  - \"https://x.a.example.com/x/*\"\n"), 7, 5, "is not in inspection.hosts"),
        Case(section("allow:\n  - \"https://192.0.2.1/x/*\"\n"), 7, 5, "host '192.0.2.1' of https:// rule"),
        // the grammar
        Case(section("allow:\n  - \"https://a.example.com:0/x/*\"\n"), 7, 5, "bad port '0' in 'https://a.example.com:0/x/*': an https:// rule takes one port"),
        Case(section("allow:\n  - \"https://a.example.com:65536/x/*\"\n"), 7, 5, "bad port '65536'"),
        Case(section("allow:\n  - \"https://a.example.com:443,8443/x/*\"\n"), 7, 5, "takes one port"),
        Case(section("allow:\n  - \"https://a.example.com:*/x/*\"\n"), 7, 5, "takes one port"),
        Case(section("allow:\n  - \"https://a.example.com\"\n"), 7, 5, "https:// rule needs a path (https://HOST/PATH; HOST:443 allows every path)"),
        Case(section("allow:\n  - \"https://a.example.com/x*\"\n"), 7, 5, "'*' is only allowed as a final '/*'"),
        Case(section("allow:\n  - \"https://a.example.com/a/../b\"\n"), 7, 5, "dot segment"),
        Case(section("allow:\n  - \"https://a.example.com/x?y\"\n"), 7, 5, "no query"),
        Case(section("allow:\n  - \"https://{instance}.example.com/x\"\n"), 7, 5, "{instance} needs atp.instance"),
    ])
    func httpsRuleErrors(_ c: Case) throws {
        c.check(try #require(Fixture.loadError(c.yaml)))
    }
}
