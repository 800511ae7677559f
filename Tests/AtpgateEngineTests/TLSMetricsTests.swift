import Foundation
import Testing
@testable import AtpgateEngine

/// The TLS series of `/metrics`: the ClientHello peek (issue 10) and inspection's handshakes and inner
/// requests (issue 11), moved by exactly what real openssl and curl peers did.
@Suite("TLS metrics", .serialized)
struct TLSMetricsTests {
    static let admin = "admin: \"127.0.0.1:0\"\n"

    @Test("atpgate_tls_peeks_total: one hello passed, one SNI mismatch refused")
    func peeks() throws {
        let tls = try TLSServer(name: "sensor.test")
        let proxy = try ProxyHarness(policy: HelloPeekTests.policy(port: tls.port, extra: Self.admin))
        let port = try #require(proxy.server.adminAddress?.port)
        let passed = try HelloPeekTests.sClient(proxy: proxy.port, connect: "sensor.test:\(tls.port)",
                                                ["-servername", "sensor.test", "-CAfile", tls.certificatePath])
        #expect(passed.output.contains("CONNECTION ESTABLISHED"), "\(passed.output)")
        _ = try HelloPeekTests.sClient(proxy: proxy.port, connect: "sensor.test:\(tls.port)", ["-servername", "other.test"])
        #expect(proxy.waitForLog(count: 2).count == 2)
        let scrape = try PrometheusScrape.scrape(adminPort: port)
        #expect(scrape.value("atpgate_tls_peeks_total", ["result": "passed"]) == 1)
        #expect(scrape.value("atpgate_tls_peeks_total", ["result": "sni-mismatch"]) == 1)
        #expect(scrape.value("atpgate_denials_total", ["reason": "sni-mismatch"]) == 1)
        #expect(scrape.value("atpgate_requests_total", ["kind": "connect", "decision": "allow"]) == 1)
        #expect(scrape.value("atpgate_requests_total", ["kind": "connect", "decision": "deny"]) == 1)
    }

    @Test("atpgate_tls_handshakes_total by leg and result, and kind=inner for the requests inside")
    func inspection() throws {
        let fixture = try InspectionFixture()
        let upstream = try fixture.upstream()
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"], extra: Self.admin))
        let port = try #require(proxy.server.adminAddress?.port)
        let good = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/status")
        #expect(finalStatus(good.stdout) == 200, "\(good.stderr)")
        _ = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/", client: nil)
        _ = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/", client: "rogue")
        #expect(proxy.waitForLog(count: 4).count == 4)
        let scrape = try PrometheusScrape.scrape(adminPort: port)
        #expect(scrape.value("atpgate_tls_handshakes_total", ["leg": "client", "result": "ok"]) == 1)
        #expect(scrape.value("atpgate_tls_handshakes_total", ["leg": "client", "result": "cert-required"]) == 1)
        #expect(scrape.value("atpgate_tls_handshakes_total", ["leg": "client", "result": "cert-invalid"]) == 1)
        #expect(scrape.value("atpgate_tls_handshakes_total", ["leg": "upstream", "result": "ok"]) == 1)
        #expect(scrape.value("atpgate_requests_total", ["kind": "inner", "decision": "allow"]) == 1)
        #expect(scrape.value("atpgate_requests_total", ["kind": "connect", "decision": "allow"]) == 1)
        #expect(scrape.value("atpgate_requests_total", ["kind": "connect", "decision": "deny"]) == 2)
        #expect(scrape.value("atpgate_denials_total", ["reason": "client-cert-required"]) == 1)
        #expect(scrape.value("atpgate_denials_total", ["reason": "client-cert-invalid"]) == 1)
    }
}
