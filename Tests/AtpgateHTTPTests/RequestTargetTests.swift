import Testing
@testable import AtpgateHTTP

@Suite struct RequestTargetTests {
    private func parse(_ method: String, _ target: String) throws(HTTPHeadError) -> RequestTarget {
        try RequestTarget.parse(method: method, target: target)
    }

    @Test(arguments: [
        ("example.com:443", "example.com", UInt16(443)),
        ("EXAMPLE.com:1", "EXAMPLE.com", 1),
        ("10.0.0.1:65535", "10.0.0.1", 65535),
        ("[::1]:443", "[::1]", 443),
        ("[2001:db8::a:b]:8443", "[2001:db8::a:b]", 8443),
        ("[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]", 80),
        ("under_score.example:80", "under_score.example", 80),
    ])
    func connectAuthority(target: String, host: String, port: UInt16) throws {
        #expect(try parse("CONNECT", target) == .authority(host: host, port: port))
    }

    @Test(arguments: [
        ("example.com", "missing port"),
        ("example.com:", "missing port"),
        ("example.com:0", "invalid port"),
        ("example.com:0443", "invalid port"),
        ("example.com:65536", "invalid port"),
        ("example.com:100000", "invalid port"),
        ("example.com:+443", "invalid port"),
        ("example.com:-1", "invalid port"),
        ("example.com:44a", "invalid port"),
        ("example.com:443:1", "IPv6 address must be in brackets"),
        ("::1:443", "empty host"),
        ("2001:db8::1:443", "IPv6 address must be in brackets"),
        (":443", "empty host"),
        ("user@example.com:443", "userinfo"),
        ("user:pw@example.com:443", "userinfo"),
        ("ex%61mple.com:443", "percent-encoding"),
        ("example.com:443/", "path or query"),
        ("example.com:443?x", "path or query"),
        ("http://example.com:443", "path or query"),
        ("/path", "path or query"),
        ("*", "missing port"),
        ("[]:443", "empty IPv6 address"),
        ("[::1:443", "invalid IPv6 address"),
        ("[::1]443", "invalid IPv6 address"),
        ("[::1]", "missing port"),
        ("[fe80::1%25eth0]:443", "percent-encoding"),
        ("[v1.x]:443", "invalid IPv6 address"),
        ("exa<mple.com:443", "invalid character in CONNECT target host"),
        ("", "empty request target"),
        ("a b:443", "invalid character in request target"),
    ])
    func connectRejects(target: String, reason: String) {
        let got = failure { () throws(HTTPHeadError) in try parse("CONNECT", target) }
        #expect(got?.hasPrefix(reason) == true || got?.contains(reason) == true, "got \(String(describing: got))")
    }

    @Test(arguments: [
        ("http://example.com", "http", "example.com", UInt16?.none, "/"),
        ("http://example.com/", "http", "example.com", nil, "/"),
        ("HTTP://Example.COM:8080/a/b?c=d&e", "http", "Example.COM", 8080, "/a/b?c=d&e"),
        ("http://example.com?q=1", "http", "example.com", nil, "/?q=1"),
        ("http://[::1]:80/x", "http", "[::1]", 80, "/x"),
        ("http://[::1]/x", "http", "[::1]", nil, "/x"),
        ("https://a.b/%20", "https", "a.b", nil, "/%20"),
        ("ws+x-y.z://h/", "ws+x-y.z", "h", nil, "/"),
    ])
    func absoluteForm(target: String, scheme: String, host: String, port: UInt16?, path: String) throws {
        #expect(try parse("GET", target) == .absolute(scheme: scheme, host: host, port: port, path: path))
    }

    @Test(arguments: [
        ("http://user@example.com/", "userinfo in URL"),
        ("http://u:p@example.com/", "userinfo in URL"),
        ("http://example.com/#frag", "fragment"),
        ("http://example.com#frag", "fragment"),
        ("http://example.com:/", "missing port in URL"),
        ("http://example.com:0/", "invalid port"),
        ("http://example.com:080/", "invalid port"),
        ("http://example.com:99999/", "invalid port"),
        ("http:///x", "empty host in URL"),
        ("http://", "empty host in URL"),
        ("http:/x", "invalid request target"),
        ("http:x", "invalid request target"),
        ("1http://x/", "invalid request target"),
        ("example.com:80", "invalid request target"),
        ("example.com", "invalid request target"),
        ("*", "asterisk-form request target is only allowed with OPTIONS"),
        ("http://ex%41mple.com/", "percent-encoding in URL host"),
        ("http://[::1/", "invalid IPv6 address"),
        ("/a#b", "fragment in request target"),
    ])
    func nonConnectRejects(target: String, reason: String) {
        let got = failure { () throws(HTTPHeadError) in try parse("GET", target) }
        #expect(got?.hasPrefix(reason) == true, "got \(String(describing: got))")
    }

    @Test(arguments: ["/", "/x?y", "//double", "/a/%2F?b=c"])
    func originForm(target: String) throws {
        #expect(try parse("POST", target) == .origin(target))
    }

    @Test func asteriskOnlyWithOptions() throws {
        #expect(try parse("OPTIONS", "*") == .asterisk)
        #expect(failure { () throws(HTTPHeadError) in try parse("GET", "*") } != nil)
        #expect(try parse("OPTIONS", "/x") == .origin("/x"))
    }

    @Test func connectIsCaseSensitive() throws {
        // "connect" is a different (extension) method, RFC 9110 §9.1.
        #expect(failure { () throws(HTTPHeadError) in try parse("connect", "a:443") } != nil)
    }
}
