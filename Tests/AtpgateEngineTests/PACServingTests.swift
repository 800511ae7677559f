import Testing
import Foundation
@testable import AtpgateEngine

/// WPAD: the running proxy serves the PAC file built from the policy in force.
@Suite("PAC and WPAD from the proxy")
struct PACServingTests {
    @Test("curl GET /proxy.pac and /wpad.dat: the PAC content type, allowed hosts through the proxy")
    func servesPAC() throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["sensor.example.com", "*.blob.example.net"],
                                                            extra: "pac: {proxy: \"proxy.corp.example:3128\"}\n"))
        for path in ["/proxy.pac", "/wpad.dat"] {
            let result = try runCommand("/usr/bin/curl", ["-sS", "-i", "--max-time", "10", "http://127.0.0.1:\(proxy.port)\(path)"])
            #expect(result.status == 0, "curl: \(result.stderr)")
            #expect(result.stdout.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(result.stdout.contains("Content-Type: application/x-ns-proxy-autoconfig\r\n"))
            #expect(result.stdout.contains("FindProxyForURL"))
            #expect(result.stdout.contains("\"sensor.example.com\""))
            #expect(result.stdout.contains("dnsDomainIs(host, \".blob.example.net\")"))
            #expect(result.stdout.contains("PROXY proxy.corp.example:3128"))
        }
        let records = proxy.waitForLog(count: 2)
        #expect(records.map(\.rule) == ["pac", "pac"])
        #expect(records.map(\.status) == [200, 200])
        // Other origin-form requests to the proxy itself are still refused.
        let other = try runCommand("/usr/bin/curl", ["-sS", "-i", "--max-time", "10", "http://127.0.0.1:\(proxy.port)/other"])
        #expect(other.stdout.hasPrefix("HTTP/1.1 400 "))
    }

    @Test("without pac.proxy the file names the address the client used; a reload regenerates it")
    func followsHostAndReload() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("pac.yaml", loopbackPolicy(allow: ["one.example.com"]))
        let proxy = try ProxyHarness(policyFile: path)
        let reloader = PolicyReloader(path: path, server: proxy.server, logger: CapturedLog().logger, debounce: 0.05)
        reloader.start()
        defer { reloader.stop() }
        func fetch() throws -> String {
            try runCommand("/usr/bin/curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(proxy.port)/proxy.pac"]).stdout
        }
        let first = try fetch()
        #expect(first.contains("PROXY 127.0.0.1:\(proxy.port)"))
        #expect(first.contains("\"one.example.com\""))
        try loopbackPolicy(allow: ["two.example.com"]).write(toFile: path, atomically: false, encoding: .utf8)
        #expect(eventually { ((try? fetch()) ?? "").contains("\"two.example.com\"") })
        #expect(try !fetch().contains("one.example.com"))
    }
}
