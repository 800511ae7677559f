import Testing
import Foundation

/// Path rules through the running proxy with a real client: curl --path-as-is sends each path as
/// written (no dot-segment squashing), the proxy refuses every path a server could read as another
/// one with 400 before any rule is consulted, and forwards allowed ones byte for byte (the
/// canonical form is only for matching).
@Suite("Request paths end to end")
struct PathCanonicalTests {
    static func policy(_ origin: HTTPTestServer) -> String {
        loopbackPolicy(allow: ["http://origin.test:\(origin.port)/ok/*"],
                       deny: ["http://origin.test:\(origin.port)/ok/admin/*"],
                       hosts: ["origin.test": "127.0.0.1"])
    }

    @Test("curl --path-as-is /ok/..;/admin -> 400 bad-request, and the upstream receives nothing")
    func dotSegmentWithParameters() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let result = try curl(proxyPort: proxy.port, ["--path-as-is", "-i", "http://origin.test:\(origin.port)/ok/..;/admin"])
        #expect(result.stdout.hasPrefix("HTTP/1.1 400 "), "curl: \(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("X-Atpgate-Error: bad-request\r\n"))
        #expect(result.stdout.contains("dot segment with path parameters"))
        let record = try #require(proxy.waitForLog().first)
        #expect(record.status == 400)
        #expect(record.error == "bad-request")
        #expect(origin.server.acceptedCount == 0)
        #expect(origin.receivedHeads.isEmpty)
    }

    @Test("other spellings a server reads as another path -> 400, upstream untouched", arguments: [
        "/ok/.;x/../admin", "/ok//admin", "/ok/%2e%2e/admin", "/ok/%00/x", "/ok/%C0%AE%C0%AE/admin",
        "/ok/%u002e%u002e/admin", "/ok/%252e%252e/admin", "/;x/ok/x",
    ])
    func otherSpellings(path: String) throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let result = try curl(proxyPort: proxy.port, ["--path-as-is", "-i", "http://origin.test:\(origin.port)\(path)"])
        #expect(result.stdout.hasPrefix("HTTP/1.1 400 "), "curl: \(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("X-Atpgate-Error: bad-request\r\n"))
        _ = proxy.waitForLog()
        #expect(origin.server.acceptedCount == 0)
    }

    @Test("an escaped spelling of an allowed path is allowed and forwarded as received")
    func escapedAllowedPathIsForwardedVerbatim() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let result = try curl(proxyPort: proxy.port, ["--path-as-is", "-i", "http://origin.test:\(origin.port)/%6Fk/x?q=%41"])
        #expect(result.stdout.hasPrefix("HTTP/1.1 200 "), "curl: \(result.stdout) \(result.stderr)")
        #expect(origin.receivedHeads.first?.hasPrefix("GET /%6Fk/x?q=%41 HTTP/1.1\r\n") == true)
    }

    @Test("a deny path rule catches other case and ;params spellings -> 403, upstream untouched", arguments: [
        "/ok/admin/x", "/ok/ADMIN/x", "/ok/admin;a=b/x", "/ok/Admin;x/y", "/ok/adm%69n/x",
    ])
    func denyCatchesEveryReading(path: String) throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: Self.policy(origin))
        let result = try curl(proxyPort: proxy.port, ["--path-as-is", "-i", "http://origin.test:\(origin.port)\(path)"])
        #expect(result.stdout.hasPrefix("HTTP/1.1 403 "), "curl: \(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("X-Atpgate-Error: denied\r\n"))
        #expect(proxy.waitForLog().first?.rule == "test.yaml:9")
        #expect(origin.server.acceptedCount == 0)
    }
}
