import AtpgatePolicy
import Testing

/// `InspectionSettings.clientCertificate(for…)`: which upstream certificate a verified client gets.
struct InspectionClientCertTests {
    static let settings: InspectionSettings = try! InspectionFixture.settings(InspectionFixture.yaml(hosts: ["a.example.com"], section: """
          upstream:
            client_certs:
              - {match: {sha256: "\(InspectionFixture.digestHex)"}, cert: pinned.pem, key: pinned-key.pem}
              - {match: {subject_cn: "DC01*"}, cert: dc01.pem, key: dc01-key.pem}
              - {match: {san: "*.contoso.com"}, cert: san.pem, key: san-key.pem}
              - {match: default, cert: shared.pem, key: shared-key.pem}

        """))

    static let otherDigest = [UInt8](repeating: 7, count: 32)

    static func chosen(_ cn: String?, _ sans: [String] = [], _ digest: [UInt8] = otherDigest) -> String? {
        settings.clientCertificate(forSubjectCN: cn, sans: sans, sha256: digest)?.certPath
    }

    @Test func firstMatchWins() {
        // The digest entry comes first, whatever the names say.
        #expect(Self.chosen("DC01.contoso.com", ["dc01.contoso.com"], InspectionFixture.digest) == "/etc/atpgate/pinned.pem")
        #expect(Self.chosen("DC01.contoso.com", ["dc01.contoso.com"]) == "/etc/atpgate/dc01.pem")
        #expect(Self.chosen("DC02", ["other.example", "dc02.contoso.com"]) == "/etc/atpgate/san.pem")
        #expect(Self.chosen(nil, []) == "/etc/atpgate/shared.pem")
        #expect(Self.settings.clientCertificate(forSubjectCN: "DC01", sans: [], sha256: Self.otherDigest)?.sourceLine == 9)
    }

    @Test func namesIgnoreCase() {
        #expect(Self.chosen("dc01.CONTOSO.com") == "/etc/atpgate/dc01.pem")
        #expect(Self.chosen("x", ["DC03.Contoso.COM"]) == "/etc/atpgate/san.pem")
        // "*." needs a label: the apex is not below itself.
        #expect(Self.chosen("x", ["contoso.com"]) == "/etc/atpgate/shared.pem")
    }

    @Test func withoutDefaultNothingMayMatch() throws {
        let settings = try InspectionFixture.settings(InspectionFixture.yaml(hosts: ["a.example.com"], section: """
              upstream: {client_certs: [{match: {subject_cn: DC01}, cert: dc01.pem, key: dc01-key.pem}]}

            """))
        #expect(settings.clientCertificate(forSubjectCN: "dc01", sans: [], sha256: []) != nil)
        #expect(settings.clientCertificate(forSubjectCN: "DC01.contoso.com", sans: [], sha256: []) == nil)
        #expect(settings.clientCertificate(forSubjectCN: nil, sans: ["DC01"], sha256: []) == nil)
    }

    @Test(arguments: [
        ("*", "", true), ("*", "anything.at.all", true),
        ("DC01", "dc01", true), ("DC01", "DC011", false), ("DC01", "xDC01", false),
        ("DC01*", "DC01", true), ("DC01*", "DC01.contoso.com", true), ("DC01*", "DC1", false),
        ("*.contoso.com", "a.b.contoso.com", true), ("*.contoso.com", "contoso.com", false),
        ("a*b*c", "aXbYc", true), ("a*b*c", "abc", true), ("a*b*c", "acb", false), ("a*b*c", "abcd", false),
        ("*a*a*a*a*b", String(repeating: "a", count: 2000), false), ("a?c", "abc", false), ("a?c", "a?c", true),
    ])
    func globs(pattern: String, name: String, matches: Bool) {
        let mapping = ClientCertMapping(match: .subjectCN(pattern), certPath: "c.pem", keyPath: "k.pem", sourceLine: 1)
        #expect(mapping.matches(subjectCN: name, sans: [], sha256: []) == matches)
        let san = ClientCertMapping(match: .san(pattern), certPath: "c.pem", keyPath: "k.pem", sourceLine: 1)
        #expect(san.matches(subjectCN: nil, sans: ["unrelated", name], sha256: []) == matches)
    }

    @Test func digestsCompareExactly() {
        let mapping = ClientCertMapping(match: .sha256(InspectionFixture.digest), certPath: "c.pem", keyPath: "k.pem", sourceLine: 1)
        #expect(mapping.matches(subjectCN: nil, sans: [], sha256: InspectionFixture.digest))
        #expect(!mapping.matches(subjectCN: nil, sans: [], sha256: Array(InspectionFixture.digest.dropLast())))
        #expect(!mapping.matches(subjectCN: nil, sans: [], sha256: []))
        #expect(mapping.matchDescription == "sha256 " + InspectionFixture.digestHex)
    }
}
