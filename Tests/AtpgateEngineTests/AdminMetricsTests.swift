import Foundation
import Testing
@testable import AtpgateEngine
import AtpgateIO
import AtpgatePolicy
import Logging

/// GET on the admin listener with real curl: the status and the body.
func adminGet(_ port: UInt16, _ path: String, method: String = "GET") throws -> (status: Int, body: String) {
    let result = try runCommand("/usr/bin/curl", ["-sS", "--noproxy", "*", "--max-time", "10", "-X", method,
                                                  "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"])
    guard result.status == 0 else { throw TestError("curl \(path): \(result.stderr)") }
    var lines = result.stdout.components(separatedBy: "\n")
    let status = Int(lines.removeLast()) ?? 0
    return (status, lines.joined(separator: "\n"))
}

@Suite("Admin listener and metrics")
struct AdminMetricsTests {
    static let admin = "admin: \"127.0.0.1:0\"\n"

    @Test("every documented family and label value is exported from start-up at 0")
    func familiesAtStartUp() throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: [], extra: Self.admin))
        let scrape = try PrometheusScrape.scrape(adminPort: try #require(proxy.server.adminAddress?.port))
        for kind in ["connect", "http", "inner"] {
            for decision in ["allow", "deny", "error", "report"] {
                #expect(scrape.value("atpgate_requests_total", ["kind": kind, "decision": decision]) == 0, "\(kind) \(decision)")
            }
        }
        for reason in DenialReason.allCases {
            #expect(scrape.value("atpgate_denials_total", ["reason": reason.rawValue]) == 0, "\(reason)")
        }
        for direction in ["up", "down"] { #expect(scrape.value("atpgate_bytes_total", ["direction": direction]) == 0) }
        for result in PeekResult.allCases { #expect(scrape.value("atpgate_tls_peeks_total", ["result": result.rawValue]) == 0) }
        for leg in ["client", "upstream"] {
            for result in HandshakeResult.allCases {
                let expected: Double? = result.applies(to: HandshakeLeg(rawValue: leg)!) ? 0 : nil
                #expect(scrape.value("atpgate_tls_handshakes_total", ["leg": leg, "result": result.rawValue]) == expected)
            }
        }
        for result in ["success", "failure"] { #expect(scrape.value("atpgate_policy_reloads_total", ["result": result]) == 0) }
        #expect(scrape.value("atpgate_active_tunnels") == 0)
        #expect(scrape.value("atpgate_access_log_dropped_total") == 0)
        #expect(scrape.value("atpgate_upstream_connect_seconds_count") == 0)
        #expect(scrape.value("atpgate_dns_seconds_count") == 0)
        #expect(scrape.families["atpgate_upstream_connect_seconds"] == "histogram")
        #expect(scrape.families["atpgate_dns_seconds"] == "histogram")
        let loaded = try #require(scrape.value("atpgate_policy_loaded_timestamp_seconds"))
        #expect(abs(loaded - Date().timeIntervalSince1970) < 600)
        // Bounded labels: no series names a host or a client address.
        #expect(!scrape.samples.keys.contains { $0.contains("127.0.0.1") })
    }

    @Test("a scrape during tunnels and denials moves by exactly those amounts")
    func metricsMoveByExactly() throws {
        let origin = try HTTPTestServer()
        let resolver = StubResolver(["origin.test": .addresses(["127.0.0.1"])])
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["origin.test:\(origin.port)", "127.0.0.1:\(origin.port)"],
                                                            extra: Self.admin), resolver: resolver)
        let adminPort = try #require(proxy.server.adminAddress?.port)
        let before = try PrometheusScrape.scrape(adminPort: adminPort)

        // Two tunnels (curl -p: a CONNECT, then a GET inside it), one by name (DNS), one by address.
        for host in ["origin.test", "127.0.0.1"] {
            let result = try curl(proxyPort: proxy.port, ["-p", "-o", "/dev/null", "-w", "%{http_code}", "http://\(host):\(origin.port)/cl/1000"])
            #expect(result.stdout == "200")
        }
        // One plain-HTTP request allowed, one CONNECT and two plain-HTTP requests denied.
        #expect(try curl(proxyPort: proxy.port, ["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(origin.port)/cl/500"]).stdout == "200")
        #expect(try curl(proxyPort: proxy.port, ["-p", "-o", "/dev/null", "-w", "%{http_connect}", "http://127.0.0.1:1/"]).stdout == "403")
        for path in ["http://denied.test/", "http://127.0.0.1:2/"] {
            #expect(try curl(proxyPort: proxy.port, ["-o", "/dev/null", "-w", "%{http_code}", path]).stdout == "403")
        }
        // One tunnel still open while scraping: the gauge counts it.
        let open = try BlockingSocket.connect("127.0.0.1", proxy.port)
        try open.send("CONNECT 127.0.0.1:\(origin.port) HTTP/1.1\r\nHost: 127.0.0.1:\(origin.port)\r\n\r\n")
        _ = try open.receive(until: "\r\n\r\n")
        let records = proxy.waitForLog(count: 6)
        #expect(records.count == 6)

        let during = try PrometheusScrape.scrape(adminPort: adminPort)
        #expect(during.value("atpgate_active_tunnels") == 1)
        #expect(during.delta(since: before, "atpgate_requests_total", ["kind": "connect", "decision": "allow"]) == 2)
        #expect(during.delta(since: before, "atpgate_requests_total", ["kind": "connect", "decision": "deny"]) == 1)
        #expect(during.delta(since: before, "atpgate_requests_total", ["kind": "http", "decision": "allow"]) == 1)
        #expect(during.delta(since: before, "atpgate_requests_total", ["kind": "http", "decision": "deny"]) == 2)
        #expect(during.delta(since: before, "atpgate_requests_total", ["kind": "inner", "decision": "allow"]) == 0)
        #expect(during.delta(since: before, "atpgate_denials_total", ["reason": "denied"]) == 3)
        #expect(during.delta(since: before, "atpgate_dns_seconds_count") == 1)
        // Three dials: two tunnels and the plain-HTTP request (the open tunnel's dial makes four).
        #expect(during.delta(since: before, "atpgate_upstream_connect_seconds_count") == 4)
        // Bytes: exactly what the access log says the finished requests moved.
        let up = records.reduce(0) { $0 + Double($1.bytesUp) }
        let down = records.reduce(0) { $0 + Double($1.bytesDown) }
        #expect(up > 0 && down > 1500)
        #expect(during.delta(since: before, "atpgate_bytes_total", ["direction": "up"]) == up)
        #expect(during.delta(since: before, "atpgate_bytes_total", ["direction": "down"]) == down)

        open.shutdownWrite()
        _ = try? open.receiveAll()
        #expect(eventually { (try? PrometheusScrape.scrape(adminPort: adminPort).value("atpgate_active_tunnels")) == 0 })
        let after = try PrometheusScrape.scrape(adminPort: adminPort)
        #expect(after.delta(since: before, "atpgate_requests_total", ["kind": "connect", "decision": "allow"]) == 3)
        // A scrape changes nothing by itself, and admin requests are not counted.
        let again = try PrometheusScrape.scrape(adminPort: adminPort)
        #expect(again.samples.filter { $0.key.hasPrefix("atpgate_requests_total") } == after.samples.filter { $0.key.hasPrefix("atpgate_requests_total") })
    }

    @Test("/healthz, /readyz, /policy; 404 and 405; readyz is 503 while draining")
    func endpoints() throws {
        let origin = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["127.0.0.1:\(origin.port)"], extra: Self.admin))
        let port = try #require(proxy.server.adminAddress?.port)
        #expect(try adminGet(port, "/healthz") == (200, "ok\n"))
        #expect(try adminGet(port, "/readyz") == (200, "ready\n"))
        let policy = try adminGet(port, "/policy")
        #expect(policy.status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(policy.body.utf8)) as? [String: Any])
        let allow = try #require(json["allow"] as? [[String: Any]])
        #expect(allow.first?["rule"] as? String == "127.0.0.1:\(origin.port)")
        #expect((allow.first?["from"] as? String)?.hasPrefix("test.yaml:") == true)
        #expect(json["mode"] as? String == "enforce")
        #expect(try adminGet(port, "/nothing").status == 404)
        #expect(try adminGet(port, "/healthz", method: "POST").status == 405)
        #expect(try adminGet(port, "/metrics?name[]=x").status == 200)

        // Draining: a tunnel keeps the proxy from finishing; readiness says so, health does not.
        let tunnel = try BlockingSocket.connect("127.0.0.1", proxy.port)
        try tunnel.send("CONNECT 127.0.0.1:\(origin.port) HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try tunnel.receive(until: "\r\n\r\n")
        let stopped = Locked(false)
        proxy.server.stop(grace: 30) { stopped.withLock { $0 = true } }
        #expect(try adminGet(port, "/readyz").status == 503)
        #expect(try adminGet(port, "/healthz").status == 200)
        tunnel.shutdownWrite()
        _ = try? tunnel.receiveAll()
        #expect(eventually { stopped.withLock { $0 } })
    }

    @Test("admin.clients limits who may ask; the admin address is never a proxy target")
    func adminClientsAndSelf() throws {
        let limited = try ProxyHarness(policy: loopbackPolicy(allow: [], extra: "admin: {listen: \"127.0.0.1:0\", clients: [\"10.9.0.0/16\"]}\n"))
        let port = try #require(limited.server.adminAddress?.port)
        let refused = try adminGet(port, "/metrics")
        #expect(refused.status == 403)
        #expect(refused.body.contains("admin.clients"))

        // A policy allowing the admin's own address: the proxy still refuses to dial itself.
        let open = try ProxyHarness(policy: loopbackPolicy(allow: ["127.0.0.1:1-65535"], extra: Self.admin))
        let adminPort = try #require(open.server.adminAddress?.port)
        let result = try curl(proxyPort: open.port, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(adminPort)/metrics"])
        #expect(result.stdout == "403")
        #expect(open.waitForLog().first?.error == "address-denied")
    }

    @Test("reloads are counted by result; a good one moves the loaded timestamp")
    func reloadMetrics() throws {
        let directory = try TemporaryDirectory()
        let good = loopbackPolicy(allow: ["example.test"], extra: Self.admin)
        let file = try directory.write("policy.yaml", good)
        let proxy = try ProxyHarness(policyFile: file)
        let reloader = PolicyReloader(path: file, server: proxy.server, logger: Logger(label: "test"), debounce: 0.05)
        reloader.start()
        defer { reloader.stop() }
        let port = try #require(proxy.server.adminAddress?.port)
        let before = try PrometheusScrape.scrape(adminPort: port)

        _ = try directory.write("policy.yaml", good + "allow: [\n")   // broken: the policy in force stays
        #expect(eventually { (try? PrometheusScrape.scrape(adminPort: port).value("atpgate_policy_reloads_total", ["result": "failure"])) == 1 })
        usleep(1_100_000)   // the timestamp has a resolution finer than this; wait so it must move
        _ = try directory.write("policy.yaml", loopbackPolicy(allow: ["other.test"], extra: Self.admin))
        #expect(eventually { (try? PrometheusScrape.scrape(adminPort: port).value("atpgate_policy_reloads_total", ["result": "success"])) == 1 })
        let after = try PrometheusScrape.scrape(adminPort: port)
        #expect(after.value("atpgate_policy_reloads_total", ["result": "failure"]) == 1)
        let loadedBefore = try #require(before.value("atpgate_policy_loaded_timestamp_seconds"))
        let loadedAfter = try #require(after.value("atpgate_policy_loaded_timestamp_seconds"))
        #expect(loadedAfter > loadedBefore + 1)
    }
}
