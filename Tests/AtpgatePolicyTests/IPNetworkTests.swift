import AtpgateNet
import Testing

struct IPNetworkTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("10.0.0.1/8", "10.0.0.0/8"),          // host bits masked off
        ("fc00::/7", "fc00::/7"),
        ("fdff::1/7", "fc00::/7"),
        ("1.2.3.4", "1.2.3.4/32"),
        ("::1", "::1/128"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::/0", "::/0"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:db8:ffff::/33", "2001:db8:8000::/33"),
    ])
    func parses(text: String, expected: String) {
        #expect(IPNetwork(text)?.description == expected)
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "/8", "10.0.0/8",
                      "10.0.0.0/8/8", "fc00::/7x", "host/8", ""])
    func rejects(text: String) {
        #expect(IPNetwork(text) == nil)
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.255.255.255", true),
        ("10.0.0.0/8", "11.0.0.0", false),
        ("10.0.0.0/8", "9.255.255.255", false),
        ("0.0.0.0/0", "203.0.113.9", true),
        ("0.0.0.0/0", "::1", false),                 // never across families
        ("::/0", "1.2.3.4", false),
        ("::/0", "2001:db8::1", true),
        ("fc00::/7", "fd12:3456::1", true),
        ("fc00::/7", "fe00::1", false),
        ("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", true),
        ("2001:db8::/64", "2001:db8:0:1::", false),
        ("2001:db8::/96", "2001:db8::1:2", true),
        ("1.2.3.4/32", "1.2.3.4", true),
        ("1.2.3.4/32", "1.2.3.5", false),
        ("127.0.0.0/8", "::ffff:127.0.0.1", false),  // embedded forms are vetting's job
    ])
    func contains(network: String, address: String, expected: Bool) throws {
        let net = try #require(IPNetwork(network))
        let addr = try #require(IPAddress(address))
        #expect(net.contains(addr) == expected)
    }

    @Test func initMasks() throws {
        let net = IPNetwork(address: try #require(IPAddress("192.168.77.5")), prefixLength: 16)
        #expect(net.address == IPAddress("192.168.0.0"))
        #expect(net.prefixLength == 16)
        #expect(net == IPNetwork("192.168.0.0/16"))
    }
}
