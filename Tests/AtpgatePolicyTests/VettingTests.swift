import AtpgateNet
import AtpgatePolicy
import Testing

/// Address vetting before connect: built-in ranges, embedded IPv4, and the precedence
/// networks.deny > networks.allow > built-in.
struct VettingTests {
    static let plain = try! PolicyLoader.parse(yaml: "version: 1\n", file: "atpgate.yaml")

    @Test(arguments: [
        ("0.1.2.3", "0.0.0.0/8"), ("10.20.30.40", "10.0.0.0/8"), ("100.64.0.1", "100.64.0.0/10"),
        ("100.127.255.255", "100.64.0.0/10"), ("127.0.0.1", "127.0.0.0/8"), ("169.254.169.254", "169.254.0.0/16"),
        ("172.16.0.1", "172.16.0.0/12"), ("172.31.255.255", "172.16.0.0/12"), ("192.0.0.8", "192.0.0.0/24"),
        ("192.168.1.1", "192.168.0.0/16"), ("198.18.0.1", "198.18.0.0/15"), ("198.19.255.255", "198.18.0.0/15"),
        ("224.0.0.1", "224.0.0.0/4"), ("239.255.255.255", "224.0.0.0/4"), ("240.0.0.1", "240.0.0.0/4"),
        ("255.255.255.255", "240.0.0.0/4"), ("::", "::/128"), ("::1", "::1/128"), ("fc00::1", "fc00::/7"),
        ("fd00::1", "fc00::/7"), ("fe80::1", "fe80::/10"), ("febf::1", "fe80::/10"), ("ff02::1", "ff00::/8"),
    ])
    func builtinRangeDenies(address: String, range: String) throws {
        let ip = try Fixture.address(address)
        #expect(Self.plain.vet([ip]) == .denied(address: ip, rule: RuleReference("builtin:\(range)")))
    }

    @Test(arguments: [
        "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
        "192.0.1.1", "192.167.255.255", "198.17.255.255", "198.20.0.0", "223.255.255.255", "203.0.113.9",
        "2001:db8::1", "2606:4700::1111", "fec0::1", "2001:4860:4860::8888",
    ])
    func publicAddressesPass(address: String) throws {
        #expect(Self.plain.vet([try Fixture.address(address)]) == .allowed)
    }

    @Test(arguments: [
        ("::ffff:127.0.0.1", "127.0.0.0/8"),
        ("::ffff:10.0.0.1", "10.0.0.0/8"),
        ("64:ff9b::192.168.0.1", "192.168.0.0/16"),
        ("2002:a9fe:a9fe::1", "169.254.0.0/16"),
        ("2001:0:0:0:0:0:80ff:fefe", "127.0.0.0/8"),   // Teredo client 127.0.1.1
    ])
    func embeddedIPv4IsVetted(address: String, range: String) throws {
        let ip = try Fixture.address(address)
        #expect(Self.plain.vet([ip]) == .denied(address: ip, rule: RuleReference("builtin:\(range)")))
    }

    // The Teredo server half is a public address too (0.0.0.0 there would be denied).
    @Test(arguments: ["::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1", "2001:0:808:404:0:0:f7f7:f7f7"])
    func embeddedPublicIPv4Passes(address: String) throws {
        #expect(Self.plain.vet([try Fixture.address(address)]) == .allowed)
    }

    static let tuned = try! PolicyLoader.parse(yaml: """
        version: 1
        networks:
          deny:
            - 203.0.113.0/24
            - 127.0.0.2
          allow: ["127.0.0.0/8", "10.1.0.0/16", "203.0.113.0/25", "fd00::/8"]
        """, file: "/etc/atpgate/atpgate.yaml")

    @Test(arguments: [
        ("127.0.0.1", nil),                          // allow carves out a built-in range
        ("::ffff:127.0.0.1", nil),                   // ... also for the embedded form
        ("10.1.2.3", nil),
        ("fd00::1", nil),
        ("10.2.0.1", "builtin:10.0.0.0/8"),          // outside the carve-out
        ("fc00::1", "builtin:fc00::/7"),
        ("127.0.0.2", "atpgate.yaml:5"),             // networks.deny beats networks.allow
        ("::ffff:127.0.0.2", "atpgate.yaml:5"),
        ("203.0.113.5", "atpgate.yaml:4"),           // deny beats an overlapping allow
        ("203.0.113.200", "atpgate.yaml:4"),         // networks.deny adds to the built-ins
        ("203.0.114.1", nil),
    ] as [(String, String?)])
    func precedence(address: String, rule: String?) throws {
        let ip = try Fixture.address(address)
        let expected: VetResult = rule.map { .denied(address: ip, rule: RuleReference($0)) } ?? .allowed
        #expect(Self.tuned.vet([ip]) == expected)
    }

    @Test func firstDeniedAddressWins() throws {
        let good = try Fixture.address("8.8.8.8")
        let bad1 = try Fixture.address("10.0.0.1")
        let bad2 = try Fixture.address("::1")
        #expect(Self.plain.vet([good, bad2, bad1]) == .denied(address: bad2, rule: RuleReference("builtin:::1/128")))
        #expect(Self.plain.vet([bad1, bad2]) == .denied(address: bad1, rule: RuleReference("builtin:10.0.0.0/8")))
        #expect(Self.plain.vet([good]) == .allowed)
        #expect(Self.plain.vet([]) == .allowed)
    }
}
