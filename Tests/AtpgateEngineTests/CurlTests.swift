import Testing
import Foundation

/// Real clients and servers: curl through the proxy to openssl s_server (HTTPS) and to a plain HTTP origin.
@Suite("curl through the proxy")
struct CurlTests {
    @Test("HTTPS via CONNECT to openssl s_server: allowed, then denied")
    func httpsThroughTunnel() throws {
        let tls = try TLSServer(name: "sensor.test")
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["sensor.test:\(tls.port)"],
                                                            hosts: ["sensor.test": "127.0.0.1", "other.test": "127.0.0.1"]))
        let allowed = try curl(proxyPort: proxy.port, ["--cacert", tls.certificatePath, "https://sensor.test:\(tls.port)/"])
        #expect(allowed.status == 0, "curl: \(allowed.stderr)")
        #expect(allowed.stdout.contains("s_server"))

        let denied = try curl(proxyPort: proxy.port, ["--cacert", tls.certificatePath, "https://other.test:\(tls.port)/"])
        #expect(denied.status != 0)
        #expect(denied.stderr.contains("403"), "curl: \(denied.stderr)")

        let records = proxy.waitForLog(count: 2)
        #expect(records.map(\.method) == ["CONNECT", "CONNECT"])
        #expect(records.map(\.decision) == ["allow", "deny"])
        #expect(records.first?.upstream == "127.0.0.1:\(tls.port)")
        #expect((records.first?.bytesDown ?? 0) > 0)
    }

    @Test("plain HTTP through the proxy: allowed, then denied")
    func plainHTTP() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["origin.test:\(origin.port)"],
                                                            hosts: ["origin.test": "127.0.0.1"]))
        let allowed = try curl(proxyPort: proxy.port, ["http://origin.test:\(origin.port)/cl/7"])
        #expect(allowed.status == 0, "curl: \(allowed.stderr)")
        #expect(allowed.stdout == "xxxxxxx")

        let denied = try curl(proxyPort: proxy.port, ["-i", "http://elsewhere.test:\(origin.port)/"])
        #expect(denied.stdout.hasPrefix("HTTP/1.1 403 "))
        #expect(denied.stdout.contains("X-Atpgate-Error: denied"))
        #expect(denied.stdout.contains("no allow rule matches"))
    }
}
