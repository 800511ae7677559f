import Foundation
import Testing

/// `atpgate check` and `atpgate explain` on policies with an `inspection:` section, through the binary:
/// warnings printed with exit 0, a misplaced https:// rule refused with file:line, targets explained.
@Suite("atpgate check and explain with inspection", .serialized)
struct InspectionCheckCommandTests {
    /// An inspection section (line 5: hosts) over the loopback test policy's rules, with `upstream` lines.
    static func policy(hosts: [String], allow: [String], deny: [String] = [], upstream: String = "") -> String {
        let list = "[" + hosts.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        return loopbackPolicy(allow: allow, deny: deny, extra: """
            inspection:
              hosts: \(list)
              ca: {cert: ca.pem, key: ca-key.pem}
              clients: {ca: sensors-ca.pem}
            \(upstream)
            """)
    }

    @Test("check: warnings on stdout, the inspection summary, exit 0")
    func checkWarns() throws {
        let directory = try TemporaryDirectory()
        let catalog = repositoryRoot + "/policies/atp-service-locations.yaml"
        let yaml = Self.policy(hosts: ["{instance}sensorapi.atp.azure.com", "*.endpoint.security.microsoft.com"], allow: [])
            + "atp: {instance: contoso, catalog: \"\(catalog)\", locations: []}\n"
        let path = try directory.write("warn.yaml", yaml)
        let result = try runCommand(ChildProxy.binaryPath, ["check", "--policy", path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let hostsLine = try #require(yaml.split(separator: "\n").firstIndex { $0.hasPrefix("  hosts:") }) + 1
        let warnings = result.stdout.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        #expect(warnings.count == 2, "\(result.stdout)")
        #expect(warnings.contains { $0.hasPrefix("warning: \(path):\(hostsLine): inspection.hosts entry 'contososensorapi.atp.azure.com' "
                                                 + "inspects the classic sensor host") })
        #expect(warnings.contains { $0.hasPrefix("warning: \(path):\(hostsLine): inspection.hosts entry '*.endpoint.security.microsoft.com' "
                                                 + "inspects modern sensor hosts") })
        #expect(result.stdout.contains("  inspection 2 hosts: contososensorapi.atp.azure.com, *.endpoint.security.microsoft.com (warn.yaml:"))
        #expect(result.stdout.contains("  inspection upstream trust system, 0 client_certs entries"))
        #expect(result.stderr.isEmpty)
    }

    @Test("check: no warning line for a clean inspection section")
    func checkClean() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("clean.yaml", Self.policy(hosts: ["a.test"], allow: ["https://a.test/api/*"], upstream: """
              upstream:
                client_certs: [{match: default, cert: up.pem, key: up-key.pem}]
            """))
        let result = try runCommand(ChildProxy.binaryPath, ["check", "--policy", path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(!result.stdout.contains("warning:"))
        #expect(result.stdout.contains("  allow https://a.test:443/api/* (clean.yaml:"))
        #expect(result.stdout.contains("  inspection upstream trust system, 1 client_certs entry"))
    }

    @Test("check: exit 1 and file:line:column for an https:// rule whose host is not inspected")
    func checkRefusesUninspectedHTTPSRule() throws {
        let directory = try TemporaryDirectory()
        let yaml = Self.policy(hosts: ["a.test"], allow: ["a.test", "https://b.test/api/*"])
        let path = try directory.write("bad.yaml", yaml)
        let line = try #require(yaml.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("https://b.test/api/*") }) + 1
        let result = try runCommand(ChildProxy.binaryPath, ["check", "--policy", path])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("\(path):\(line):5: host 'b.test' of https:// rule 'https://b.test/api/*' is not in inspection.hosts"),
                "stderr: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("explain: says whether a CONNECT is inspected and decides the request inside an https:// URL")
    func explainInspection() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("p.yaml", Self.policy(hosts: ["a.test"], allow: ["https://a.test/api/*", "b.test"],
                                                             deny: ["https://a.test/api/admin/*"]))
        func explain(_ target: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try runCommand(ChildProxy.binaryPath, ["explain", "--policy", path, target])
        }
        let connect = try explain("a.test:443")
        #expect(connect.status == 0)
        #expect(connect.stdout.contains("\ninspection: inspected (inspection.hosts entry 'a.test', p.yaml:"), "\(connect.stdout)")
        #expect(connect.stdout.contains("deny https://a.test:443/api/admin/* (p.yaml:"))
        #expect(connect.stdout.contains("allow https://a.test:443/api/* (p.yaml:"))
        let plain = try explain("b.test:443")
        #expect(plain.status == 0)
        #expect(plain.stdout.contains("\ninspection: not inspected (b.test is not in inspection.hosts)"))
        // An https:// URL: the CONNECT, then the request inside the inspected tunnel.
        let allowed = try explain("https://a.test/api/items?x=1")
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(allowed.stdout.hasPrefix("allow\nrule: p.yaml:"))
        #expect(allowed.stdout.contains("\nconnect: allowed by rule p.yaml:"))
        let denied = try explain("https://a.test/api/admin/x")
        #expect(denied.status == 1)
        #expect(denied.stdout.hasPrefix("deny\nrule: p.yaml:"))
        let elsewhere = try explain("https://a.test/other")
        #expect(elsewhere.status == 1)
        #expect(elsewhere.stdout.contains("rule: default"))
        let ambiguous = try explain("https://a.test/api/%2e%2e/x")
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stderr.contains("answers 400"))
        // Not inspected: the path never reaches the proxy.
        let tunnel = try explain("https://b.test/anything")
        #expect(tunnel.status == 0)
        #expect(tunnel.stdout.contains("path: not seen by the proxy (the tunnel is not inspected)"))
    }
}
