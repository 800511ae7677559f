import Testing
import Foundation
@testable import AtpgateEngine

/// The ATP block through the running proxy: catalog expansion decides, pinning refuses addresses
/// outside the service tag, and the access log names where an expanded rule came from.
@Suite("ATP policy through the proxy")
struct AtpPolicyTests {
    static func fixture() throws -> (TemporaryDirectory, ProxyHarness) {
        let directory = try TemporaryDirectory()
        let catalog = try String(contentsOfFile: repositoryRoot + "/policies/atp-service-locations.yaml", encoding: .utf8)
        _ = try directory.write("atp-service-locations.yaml", catalog)
        _ = try directory.write("tags.json", """
            {"values":[{"name":"AzureAdvancedThreatProtection","properties":{"addressPrefixes":["127.0.0.1/32","::1/128"]}}]}
            """)
        let policy = try directory.write("site.yaml", """
            version: 1
            listen: "127.0.0.1:0"
            networks: {allow: ["127.0.0.0/8"]}
            atp:
              instance: contoso-corp
              locations: [europe]
              pin: {service_tags: tags.json}
            hosts:
              contoso-corpsensorapi.atp.azure.com: 127.0.0.1
              triprd1wceun2sensorapi.atp.azure.com: 127.0.0.2
              contoso-corp.atp.azure.com: 127.0.0.3
            """)
        return (directory, try ProxyHarness(policyFile: policy))
    }

    @Test("sensor hosts inside the pinned prefixes are dialled; outside them refused; console not pinned")
    func expansionAndPinning() throws {
        let (_, proxy) = try Self.fixture()
        // Allowed and vetted: the proxy dials (nothing listens on 443 here, so 502; a local 443 would give 200).
        #expect([200, 502].contains(try proxy.connectStatus("contoso-corpsensorapi.atp.azure.com:443")))
        #expect([200, 502].contains(try proxy.connectStatus("contoso-corp.atp.azure.com:443")))
        // A location host whose address is outside the service tag: refused before any dial.
        let pinned = try proxy.rawExchange("CONNECT triprd1wceun2sensorapi.atp.azure.com:443 HTTP/1.1\r\n\r\n")
        #expect(pinned.hasPrefix("HTTP/1.1 403 "))
        #expect(pinned.contains("X-Atpgate-Error: address-denied"))
        #expect(pinned.contains("pin:AzureAdvancedThreatProtection"))
        // Not in the catalog's Europe set, not in the policy: default deny.
        #expect(try proxy.connectStatus("triprd1wcusw2sensorapi.atp.azure.com:443") == 403)
        let records = proxy.waitForLog(count: 4)
        #expect(records.first?.rule?.hasPrefix("atp-service-locations.yaml:") == true)
        #expect(records.first?.rule?.hasSuffix("via site.yaml:4") == true)
        #expect(records.contains { $0.rule?.hasPrefix("pin:AzureAdvancedThreatProtection") == true && $0.status == 403 })
    }

    @Test("an edit of the catalog (not the policy) is picked up by live reload")
    func catalogEditReloads() throws {
        let (directory, proxy) = try Self.fixture()
        let reloader = PolicyReloader(path: directory.file("site.yaml"), server: proxy.server, logger: CapturedLog().logger,
                                      debounce: 0.05)
        reloader.start()
        defer { reloader.stop() }
        #expect(try proxy.connectStatus("new-eu-record.atp.azure.com:443") == 403)
        let catalog = try String(contentsOfFile: directory.file("atp-service-locations.yaml"), encoding: .utf8)
        let edited = catalog.replacingOccurrences(of: "triprd1wceuw3sensorapi.atp.azure.com]",
                                                  with: "triprd1wceuw3sensorapi.atp.azure.com, new-eu-record.atp.azure.com]")
        #expect(edited != catalog)
        try edited.write(toFile: directory.file("atp-service-locations.yaml"), atomically: false, encoding: .utf8)
        // Allowed now; its address is not in hosts, so the test resolver's failure (502) shows it got past the policy.
        #expect(eventually { (try? proxy.connectStatus("new-eu-record.atp.azure.com:443")) == 502 })
    }

    @Test("atpgate locations lists the catalog; a broken catalog exits 1 with file:line:col")
    func locationsCommand() throws {
        let listed = try runCommand(ChildProxy.binaryPath, ["locations", "--catalog",
                                                            repositoryRoot + "/policies/atp-service-locations.yaml"])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("commercial / Europe: triprd1wceun2sensorapi.atp.azure.com, triprd1wceuw3sensorapi.atp.azure.com"))
        #expect(listed.stdout.contains("gcc-high / US GCC High: triff1wcva2sensorapi.atp.azure.us"))
        let directory = try TemporaryDirectory()
        let broken = try directory.write("catalog.yaml", "version: 1\nclouds: {}\nlocatons: []\n")
        let failed = try runCommand(ChildProxy.binaryPath, ["locations", "--catalog", broken])
        #expect(failed.status == 1)
        #expect(failed.stderr.hasPrefix("\(broken):3:"), "stderr: \(failed.stderr)")
    }
}
