import AtpgateNet
import AtpgatePolicy
import Testing

/// Rule grammar, checked through the loader: valid rules load (and print canonically in
/// the summary), invalid ones fail at the rule's own line and column.
struct RuleParsingTests {
    @Test(arguments: [
        ("example.com", "allow example.com:443"),             // allow default port 443
        ("Example.COM.:443", "allow example.com:443"),
        ("example.com:80,443", "allow example.com:80,443"),
        ("example.com:8000-8100", "allow example.com:8000-8100"),
        ("example.com:80,8000-8100", "allow example.com:80,8000-8100"),
        ("example.com:*", "allow example.com:*"),
        ("*.blob.core.windows.net:443", "allow *.blob.core.windows.net:443"),
        ("*.com", "allow *.com:443"),
        ("10.0.0.0/8:443", "allow 10.0.0.0/8:443"),
        ("10.1.2.3", "allow 10.1.2.3:443"),
        ("10.1.2.3/8", "allow 10.0.0.0/8:443"),
        ("[2001:db8::1]:443", "allow [2001:db8::1]:443"),
        ("[2001:db8::/32]:443", "allow [2001:db8::/32]:443"),
        ("2001:db8::/32", "allow [2001:db8::/32]:443"),
        ("::1", "allow [::1]:443"),
        ("[::1]", "allow [::1]:443"),
        ("http://www.microsoft.com/pkiops/*", "allow http://www.microsoft.com:80/pkiops/*"),
        ("HTTP://WWW.Microsoft.com:8080/a/b.crl", "allow http://www.microsoft.com:8080/a/b.crl"),
        ("http://*.example.com/", "allow http://*.example.com:80/"),
        ("http://[2001:db8::1]/x", "allow http://[2001:db8::1]:80/x"),
        // Rule paths are kept in the canonical form requests are matched in.
        ("http://h.example/%6Fk/*", "allow http://h.example:80/ok/*"),
        ("http://h.example/%6fk/*", "allow http://h.example:80/ok/*"),
        ("http://h.example/a%2Bb%7c", "allow http://h.example:80/a+b|"),
        ("http://h.example/a%3fb%20c", "allow http://h.example:80/a%3Fb%20c"),
        ("http://h.example/caf%c3%a9/*", "allow http://h.example:80/caf%C3%A9/*"),
        ("http://h.example/café/*", "allow http://h.example:80/caf%C3%A9/*"),
        ("http://h.example/ok;v=1/x", "allow http://h.example:80/ok;v=1/x"),
    ])
    func validAllowRules(rule: String, summaryLine: String) throws {
        let policy = try Fixture.policy(allow: [rule])
        #expect(policy.summary.contains("\(summaryLine) (atpgate.yaml:2)"))
    }

    /// "http://h/%6Fk/*" and "http://h/ok/*" are the same rule: each matches what the other does.
    @Test func escapedAndPlainRulePathsAreTheSameRule() throws {
        for rule in ["http://h.example/%6Fk/*", "http://h.example/ok/*", "http://h.example/%6f%6B/*"] {
            let policy = try Fixture.policy(allow: [rule])
            for path in ["/ok/x", "/%6Fk/x", "/o%6b/x", "/%6f%6B/"] {
                #expect(policy.decide(try Fixture.request("h.example", 80, path: path)).verdict == .allow, "\(rule) \(path)")
            }
            #expect(policy.decide(try Fixture.request("h.example", 80, path: "/oK/x")).verdict == .deny)
        }
    }

    @Test func denyWithoutPortMeansEveryPort() throws {
        let policy = try Fixture.policy(allow: [], deny: ["evil.example.com"])
        #expect(policy.summary.contains("deny evil.example.com:* (atpgate.yaml:3)"))
    }

    @Test(arguments: [
        ("*", "'*' is only allowed"),
        ("**", "'*' is only allowed"),
        ("*.", "bad host"),
        ("foo*.bar", "'*' is only allowed"),
        ("a.*.b", "'*' is only allowed"),
        ("*.*.com", "'*' is only allowed"),
        ("*example.com", "'*' is only allowed"),
        ("example.*", "'*' is only allowed"),
        ("*.10.0.0.1", "wildcard needs a name"),
        ("example.com:0", "bad ports"),
        ("example.com:65536", "bad ports"),
        ("example.com:", "bad ports"),
        ("example.com:443,", "bad ports"),
        ("example.com:100-90", "bad ports"),
        ("example.com:*,443", "bad ports"),
        ("example.com:0443", "bad ports"),
        ("example.com:https", "bad ports"),
        ("127.1", "numeric host"),
        ("foo.123:443", "numeric host"),
        ("a..b", "empty label"),
        ("ex ample.com", "whitespace"),
        ("", "empty rule"),
        ("10.0.0.0/33", "bad address or CIDR"),
        ("[10.0.0.1]:443", "bad address or CIDR"),
        ("[2001:db8::1:443", "unterminated"),
        ("[2001:db8::1]443", "expected ':'"),
        ("2001:db8::1:443x", "bad address or CIDR"),
        ("user@example.com", "userinfo"),
        ("https://example.com/x", "only http:// rules"),
        ("ftp://example.com/x", "only http:// rules"),
        ("http://example.com", "needs a path"),
        ("http://example.com:80,443/x", "one port"),
        ("http://example.com:*/x", "one port"),
        ("http://example.com/a/../b", "dot segment"),
        ("http://example.com/a%2fb", "encoded"),
        // Rule paths are refused for every shape a request path is (RequestPathCanonicalTests).
        ("http://example.com/a/..;/b", "dot segment"),
        ("http://example.com/a/.;x/*", "dot segment"),
        ("http://example.com//a/*", "empty segment"),
        ("http://example.com/;x/a", "empty segment"),
        ("http://example.com/a%00", "escaped control"),
        ("http://example.com/%u002e/*", "two hex digits"),
        ("http://example.com/%C0%AE/*", "UTF-8"),
        ("http://example.com/%252e/*", "double"),
        ("http://example.com/a*", "final '/*'"),
        ("http://example.com/*/x", "final '/*'"),
        ("http://example.com/x?y=1", "no query"),
        ("{instance}.atp.azure.com:443", "{instance} needs atp.instance"),
        ("http://{instance}.example.com/x", "{instance} needs atp.instance"),
    ])
    func invalidRulesFailAtTheirNode(rule: String, fragment: String) throws {
        let yaml = "version: 1\nallow:\n  - example.org\n  - \"\(rule)\"\n"
        let error = try #require(Fixture.loadError(yaml))
        #expect(error.line == 4)
        #expect(error.column == 5)
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test func rulesMustBeStrings() throws {
        let error = try #require(Fixture.loadError("version: 1\nallow:\n  - {a: 1}\n"))
        #expect((error.line, error.column) == (3, 5))
        #expect(error.message.contains("must be a string"))
    }

    @Test func singleStringRuleIsAccepted() throws {
        let policy = try Fixture.policy("version: 1\nallow: example.com:443\n")
        #expect(try policy.decide(Fixture.request("example.com", 443)).verdict == .allow)
    }
}
