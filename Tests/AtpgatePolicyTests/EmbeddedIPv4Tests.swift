import AtpgateNet
import AtpgatePolicy
import Testing

/// Every IPv6 form that embeds an IPv4 address is vetted (and deny-matched) by that IPv4 address,
/// by both when it embeds two (Teredo).
struct EmbeddedIPv4Tests {
    /// One embedding form: how to write an IPv6 address that carries `v4`.
    struct Form: Sendable, CustomTestStringConvertible {
        let name: String
        let make: @Sendable (UInt32) -> IPAddress
        var testDescription: String { name }
    }

    /// Public IPv4 addresses for the other half of a Teredo address.
    static let public1: UInt32 = 0x0808_0808   // 8.8.8.8
    static let public2: UInt32 = 0x0808_0404   // 8.8.4.4

    static let forms: [Form] = [
        Form(name: "IPv4-mapped ::ffff:a.b.c.d") { .v6(0, 0xFFFF_0000_0000 | UInt64($0)) },
        Form(name: "IPv4-compatible ::a.b.c.d") { .v6(0, UInt64($0)) },
        Form(name: "SIIT ::ffff:0:a.b.c.d") { .v6(0, 0xFFFF_0000_0000_0000 | UInt64($0)) },
        Form(name: "NAT64 64:ff9b::a.b.c.d") { .v6(0x0064_FF9B_0000_0000, UInt64($0)) },
        Form(name: "NAT64 local-use 64:ff9b:1::a.b.c.d") { .v6(0x0064_FF9B_0001_0000, UInt64($0)) },
        Form(name: "NAT64 local-use 64:ff9b:1:abcd::a.b.c.d") { .v6(0x0064_FF9B_0001_ABCD, UInt64($0)) },
        Form(name: "6to4 2002:AABB:CCDD::1") { .v6(0x2002_0000_0000_0000 | UInt64($0) << 16, 1) },
        Form(name: "Teredo server 2001:0:AABB:CCDD::(client 8.8.8.8)") {
            .v6(0x2001_0000_0000_0000 | UInt64($0), 0x8000_0000_0000_0000 | UInt64(~public1))
        },
        Form(name: "Teredo client 2001:0:808:404::~a.b.c.d") {
            .v6(0x2001_0000_0000_0000 | UInt64(public2), 0x8000_0000_0000_0000 | UInt64(~$0))
        },
        Form(name: "ISATAP 2001:db8:1:2:0:5efe:a.b.c.d") { .v6(0x2001_0DB8_0001_0002, 0x0000_5EFE_0000_0000 | UInt64($0)) },
        Form(name: "ISATAP 2001:db8::200:5efe:a.b.c.d") { .v6(0x2001_0DB8_0000_0000, 0x0200_5EFE_0000_0000 | UInt64($0)) },
        Form(name: "ISATAP 2002:808:808:1:0:5efe:a.b.c.d (inside 6to4)") {
            .v6(0x2002_0808_0808_0001, 0x0000_5EFE_0000_0000 | UInt64($0))
        },
    ]

    static let plain = try! PolicyLoader.parse(yaml: "version: 1\n", file: "atpgate.yaml")

    @Test(arguments: forms)
    func eachFormYieldsItsIPv4(_ form: Form) {
        let v4: UInt32 = 0xC000_022D   // 192.0.2.45
        #expect(form.make(v4).embeddedIPv4s.contains(.v4(v4)))
    }

    @Test(arguments: [
        ("::ffff:127.0.0.1", ["127.0.0.1"]),
        ("::127.0.0.1", ["127.0.0.1"]),
        ("::1", ["0.0.0.1"]),                                  // excluding nothing
        ("::", ["0.0.0.0"]),
        ("::ffff:0:127.0.0.1", ["127.0.0.1"]),
        ("64:ff9b::10.0.0.1", ["10.0.0.1"]),
        ("64:ff9b:1:ffff::10.0.0.1", ["10.0.0.1"]),
        ("2002:c0a8:0101::1", ["192.168.1.1"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["192.0.2.45", "65.54.227.120"]),   // RFC 4380's example: client, server
        ("fe80::5efe:10.1.2.3", ["10.1.2.3"]),
        ("2001:db8::300:5efe:10.1.2.3", ["10.1.2.3"]),        // u and g bits ignored
    ])
    func textExamples(v6: String, v4s: [String]) throws {
        #expect(try Fixture.address(v6).embeddedIPv4s == v4s.map { IPAddress($0)! })
    }

    @Test(arguments: ["2001:db8::1", "::fffe:1.2.3.4", "::ffff:1:1.2.3.4", "64:ff9b:2::1.2.3.4", "64:ff9a::1.2.3.4",
                      "2003::1", "2001:1::1", "2001:db8::1:5efe:1.2.3.4", "10.0.0.1"])
    func noEmbeddedIPv4(text: String) throws {
        #expect(try Fixture.address(text).embeddedIPv4s.isEmpty)
    }

    @Test(arguments: forms, [
        (UInt32(0x7F00_0001), "127.0.0.0/8"), (0x0A01_0203, "10.0.0.0/8"), (0xC0A8_0001, "192.168.0.0/16"),
    ])
    func internalIPv4InEveryFormIsDenied(_ form: Form, target: (UInt32, String)) {
        let address = form.make(target.0)
        #expect(Self.plain.vet([address]) == .denied(address: address, rule: RuleReference("builtin:\(target.1)")))
    }

    @Test(arguments: forms)
    func publicIPv4InEveryFormIsAllowed(_ form: Form) {
        #expect(Self.plain.vet([form.make(Self.public1)]) == .allowed)
    }

    static let denying = try! PolicyLoader.parse(yaml: """
        version: 1
        networks:
          deny: ["203.0.113.0/24"]
        """, file: "/etc/atpgate/atpgate.yaml")

    @Test(arguments: forms)
    func networksDenyCatchesEveryForm(_ form: Form) {
        let address = form.make(0xCB00_7105)   // 203.0.113.5
        #expect(Self.denying.vet([address]) == .denied(address: address, rule: RuleReference("atpgate.yaml:3")))
    }

    /// ::/96 excludes nothing: "::2" is 0.0.0.2 IPv4-compatible, and denied as that.
    @Test(arguments: ["::2", "::0.0.0.9", "::0.255.255.255"])
    func compatibleFormOfZeroNetworkIsDenied(text: String) throws {
        let address = try Fixture.address(text)
        #expect(Self.plain.vet([address]) == .denied(address: address, rule: RuleReference("builtin:0.0.0.0/8")))
    }

    @Test func bothTeredoHalvesAreVetted() throws {
        let serverInternal = try Fixture.address("2001:0:a01:203:8000:0:f7f7:f7f7")   // server 10.1.2.3, client 8.8.8.8
        let clientInternal = try Fixture.address("2001:0:808:404:8000:0:f5fe:fdfc")   // server 8.8.4.4, client 10.1.2.3
        let bothPublic = try Fixture.address("2001:0:808:404:8000:0:f7f7:f7f7")
        #expect(Self.plain.vet([serverInternal]) == .denied(address: serverInternal, rule: RuleReference("builtin:10.0.0.0/8")))
        #expect(Self.plain.vet([clientInternal]) == .denied(address: clientInternal, rule: RuleReference("builtin:10.0.0.0/8")))
        #expect(Self.plain.vet([bothPublic]) == .allowed)
    }

    /// Deny rules see every embedded IPv4 too, so no spelling of a denied IPv4 target passes.
    @Test(arguments: forms)
    func denyRulesSeeEveryForm(_ form: Form) throws {
        let policy = try Fixture.policy(allow: ["[::/0]:443"], deny: ["10.9.0.0/16"])
        let target = form.make(0x0A09_0101)   // 10.9.1.1
        let decision = policy.decide(DecisionRequest(client: .v4(0x7F00_0001), host: .ip(target), port: 443, kind: .connect))
        #expect(decision.verdict == .deny)
        #expect(decision.rule.text == "atpgate.yaml:3")
    }

    /// An exact address in networks.allow names that address: its embedded readings then answer
    /// only to networks.deny. A wider IPv6 carve-out does not vouch for the IPv4 inside.
    @Test func exactCarveOutCoversItsEmbeddedReadings() throws {
        let exact = try Fixture.policy("version: 1\nnetworks:\n  allow: [\"::1/128\", \"::ffff:10.0.0.5\"]\n")
        #expect(exact.vet([try Fixture.address("::1")]) == .allowed)
        #expect(exact.vet([try Fixture.address("::ffff:10.0.0.5")]) == .allowed)
        let other = try Fixture.address("::ffff:10.0.0.6")
        #expect(exact.vet([other]) == .denied(address: other, rule: RuleReference("builtin:10.0.0.0/8")))

        let wide = try Fixture.policy("version: 1\nnetworks:\n  allow: [\"::ffff:0:0/96\", \"::/64\"]\n")
        let mapped = try Fixture.address("::ffff:10.0.0.5")
        #expect(wide.vet([mapped]) == .denied(address: mapped, rule: RuleReference("builtin:10.0.0.0/8")))
        let compatible = try Fixture.address("::10.0.0.5")
        #expect(wide.vet([compatible]) == .denied(address: compatible, rule: RuleReference("builtin:10.0.0.0/8")))

        let denied = try Fixture.policy("version: 1\nnetworks:\n  deny: [\"0.0.0.0/8\"]\n  allow: [\"::1/128\"]\n")
        let loopback = try Fixture.address("::1")
        #expect(denied.vet([loopback]) == .denied(address: loopback, rule: RuleReference("atpgate.yaml:3")))
    }

    @Test(arguments: ["::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1", "2002:7f00:1::",
                      "2001:0:7f00:1:8000:0:f7f7:f7f7", "2001:db8::5efe:127.0.0.1", "127.0.0.1"])
    func formsOfLoopbackReferToIt(text: String) throws {
        let loopback = try Fixture.address("127.0.0.1")
        let address = try Fixture.address(text)
        #expect(address.refersTo(loopback))
        #expect(loopback.refersTo(address))
        #expect(address.ipv4Equivalents.first == address)
        #expect(address.ipv4Equivalents.contains(loopback))
        #expect(!address.refersTo(try Fixture.address("127.0.0.2")))
    }

    @Test func unrelatedAddressesDoNotReferToEachOther() throws {
        let mapped = try Fixture.address("::ffff:127.0.0.1")
        #expect(!mapped.refersTo(try Fixture.address("::127.0.0.1")))   // only through the IPv4 they share
        #expect(!mapped.refersTo(try Fixture.address("::1")))
        #expect(try Fixture.address("2001:db8::1").ipv4Equivalents == [try Fixture.address("2001:db8::1")])
        #expect(try Fixture.address("10.0.0.1").ipv4Equivalents == [try Fixture.address("10.0.0.1")])
    }
}
