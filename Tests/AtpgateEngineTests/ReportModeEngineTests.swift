import Foundation
import Testing
@testable import AtpgateEngine
import AtpgateIO

@Suite("Report mode")
struct ReportModeEngineTests {
    @Test("what only the default deny refused goes through, logged as report with the rule that would have denied it")
    func defaultDenyIsReported() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: [], extra: "mode: report\nadmin: \"127.0.0.1:0\"\n"))
        let plain = try curl(proxyPort: proxy.port, ["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(origin.port)/cl/10"])
        #expect(plain.stdout == "200")
        let tunnelled = try curl(proxyPort: proxy.port, ["-p", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(origin.port)/cl/10"])
        #expect(tunnelled.stdout == "200")
        let records = proxy.waitForLog(count: 2)
        #expect(records.count == 2)
        for record in records {
            #expect(record.decision == "report")
            #expect(record.rule == "default")
            #expect(record.error == nil)
        }
        let scrape = try PrometheusScrape.scrape(adminPort: try #require(proxy.server.adminAddress?.port))
        #expect(scrape.value("atpgate_requests_total", ["kind": "http", "decision": "report"]) == 1)
        #expect(scrape.value("atpgate_requests_total", ["kind": "connect", "decision": "report"]) == 1)
    }

    @Test("explicit deny rules, private addresses and the client check still refuse")
    func everythingElseStillRefuses() throws {
        let origin = try HTTPTestServer()
        let policy = """
        version: 1
        listen: "127.0.0.1:0"
        clients: ["127.0.0.0/8"]
        mode: report
        networks:
          allow: ["127.0.0.1/32"]
        deny:
          - "127.0.0.1:\(origin.port)"
        allow: []
        """
        let proxy = try ProxyHarness(policy: policy)
        // The incident switch: an explicit deny rule.
        #expect(try curl(proxyPort: proxy.port, ["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(origin.port)/"]).stdout == "403")
        // A private address (built-in deny range) and loopback outside the carve-out: never dialled.
        for target in ["10.1.2.3:80", "127.0.0.2:\(origin.port)"] {
            #expect(try curl(proxyPort: proxy.port, ["-o", "/dev/null", "-w", "%{http_code}", "http://\(target)/"]).stdout == "403")
        }
        let records = proxy.waitForLog(count: 3)
        #expect(records.map(\.error) == ["denied", "address-denied", "address-denied"])
        #expect(records.map(\.decision) == ["deny", "deny", "deny"])
        #expect(origin.receivedHeads.isEmpty)

        // The client check: a client outside `clients` is refused in report mode too.
        let strict = try ProxyHarness(policy: policy.replacingOccurrences(of: "clients: [\"127.0.0.0/8\"]", with: "clients: [\"10.0.0.0/8\"]"))
        #expect(try curl(proxyPort: strict.port, ["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(origin.port)/"]).stdout == "403")
        #expect(strict.waitForLog().first?.error == "client-denied")
    }

    @Test("a reported request that fails on the way keeps report; the token says how it failed")
    func reportedFailureKeepsReport() throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: [], extra: "mode: report\n"))
        let closed = TestServer.closedPort()
        #expect(try curl(proxyPort: proxy.port, ["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(closed)/"]).stdout == "502")
        let record = try #require(proxy.waitForLog().first)
        #expect(record.decision == "report")
        #expect(record.rule == "default")
        #expect(record.error == "connect-refused")
    }
}
