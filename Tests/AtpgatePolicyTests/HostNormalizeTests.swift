import AtpgateNet
import Testing

/// Every normalisation rule both ways: accepted spellings and their canonical form, and
/// refused spellings with the reason fragment that explains them.
struct HostNormalizeTests {
    @Test(arguments: [
        ("Example.COM", "example.com"),
        ("a.com.", "a.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("_sip._tcp.example.com", "_sip._tcp.example.com"),
        ("my-host", "my-host"),
        ("localhost", "localhost"),
        ("0x7f.com", "0x7f.com"),                  // hex-looking label not last: a name
        ("123.example", "123.example"),            // digits fine unless the last label
        ("a1b2", "a1b2"),
        (String(repeating: "a", count: 63) + ".com", String(repeating: "a", count: 63) + ".com"),
    ])
    func acceptsNames(raw: String, expected: String) throws {
        #expect(try Host.normalize(raw) == .name(expected))
    }

    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("[::ffff:1.2.3.4]", "::ffff:1.2.3.4"),
    ])
    func acceptsLiterals(raw: String, expected: String) throws {
        #expect(try Host.normalize(raw) == .ip(try #require(IPAddress(expected))))
    }

    @Test(arguments: [
        ("", "empty host"),
        ("a..b", "empty label"),
        (".a", "empty label"),
        ("a.com..", "empty label"),
        (".", "empty label"),
        (String(repeating: "a", count: 64) + ".com", "label longer than 63"),
        (Array(repeating: String(repeating: "a", count: 50), count: 6).joined(separator: "."), "longer than 253"),
        ("2130706433", "numeric host"),
        ("0x7f.1", "numeric host"),
        ("0x7f000001", "numeric host"),
        ("0X7F000001", "numeric host"),
        ("127.1", "numeric host"),
        ("0177.0.0.1", "numeric host"),
        ("1.2.3.256", "numeric host"),
        ("01.2.3.4", "numeric host"),
        ("1.2.3.4.", "numeric host"),
        ("foo.123", "numeric host"),
        ("foo.0x1f", "numeric host"),
        ("a b.com", "invalid character"),
        ("a!.com", "invalid character"),
        ("a/b", "invalid character"),
        ("bücher.de", "non-ASCII"),
        ("a%2e.com", "percent-encoding"),
        ("user@host.com", "userinfo"),
        ("::1", "must be in brackets"),
        ("2001:db8::1", "must be in brackets"),
        ("host:80", "invalid character ':'"),
        ("[::1", "unterminated"),
        ("[fe80::1%eth0]", "zone id"),
        ("[fe80::1%25eth0]", "zone id"),
        ("[1.2.3.4]", "invalid IPv6 literal"),
        ("[example.com]", "invalid IPv6 literal"),
        ("[]", "invalid IPv6 literal"),
    ])
    func rejects(raw: String, reasonFragment: String) {
        #expect {
            _ = try Host.normalize(raw)
        } throws: { error in
            guard let error = error as? HostError else { return false }
            return error.reason.contains(reasonFragment) && !error.reason.contains("\n")
        }
    }

    @Test func numericReasonQuotesHost() {
        #expect(throws: HostError(reason: "numeric host '127.1' is not a dotted quad")) {
            try Host.normalize("127.1")
        }
    }

    @Test func reasonStaysOneLine() {
        #expect {
            _ = try Host.normalize("a\nb.com")
        } throws: { error in
            (error as? HostError)?.reason.contains("\n") == false
        }
    }

    @Test(arguments: [
        (Host.name("example.com"), "example.com"),
        (.ip(.v4(0x0A00_0001)), "10.0.0.1"),
        (.ip(.v6(0, 1)), "[::1]"),
    ])
    func describes(host: Host, expected: String) {
        #expect(host.description == expected)
    }

    @Test func normalizeAcceptsSubstring() throws {
        let authority = "Example.com:443"
        let host = authority.split(separator: ":")[0]
        #expect(try Host.normalize(host) == .name("example.com"))
    }
}
