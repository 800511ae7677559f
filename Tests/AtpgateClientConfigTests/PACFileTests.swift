import AtpgateClientConfig
import AtpgatePolicy
import Foundation
import Testing

/// The PAC file, evaluated by a real JavaScript engine (node) with the standard PAC helpers.
struct PACFileTests {
    static let node: String? = ["/usr/bin/node", "/usr/local/bin/node"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The standard helpers the file may use; the DNS ones throw, to prove the file never needs them.
    static let harness = #"""
        function dnsDomainIs(host, domain) {
            return host.length >= domain.length && host.substring(host.length - domain.length) == domain;
        }
        function shExpMatch(str, shexp) {
            var re = shexp.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
            return new RegExp("^" + re + "$").test(str);
        }
        function isPlainHostName(host) { return host.indexOf(".") < 0; }
        function localHostOrDomainIs(host, hostdom) { return host == hostdom || hostdom.lastIndexOf(host + ".", 0) == 0; }
        function dnsResolve(host) { throw new Error("DNS used: dnsResolve"); }
        function isInNet() { throw new Error("DNS used: isInNet"); }
        function isResolvable() { throw new Error("DNS used: isResolvable"); }
        function myIpAddress() { throw new Error("DNS used: myIpAddress"); }
        """#

    /// FindProxyForURL for each host (URL https://host/), via `node -e`.
    static func evaluate(_ pac: String, hosts: [String]) throws -> [String] {
        let node = try #require(node)
        let hostsJSON = String(decoding: try JSONSerialization.data(withJSONObject: hosts), as: UTF8.self)
        let script = harness + "\n" + pac + "\n"
            + "console.log(JSON.stringify(\(hostsJSON).map(function (h) { return FindProxyForURL('https://' + h + '/', h); })));"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: node)
        process.arguments = ["-e", script]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(errors)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String])
    }

    static func policy() throws -> Policy {
        try PolicyLoader.parse(yaml: """
            version: 1
            allow:
              - "contoso-corpsensorapi.atp.azure.com:443"
              - "*.blob.core.windows.net:443"
              - "http://crl.microsoft.com/pki/*"
              - "192.0.2.10:443"
              - "[2001:db8::10]:443"
              - "198.51.100.0/24:443"
            deny: ["evil.blob.core.windows.net"]
            """, file: "/etc/atpgate/atpgate.yaml")
    }

    static let proxy = "PROXY proxy.corp.example:3128"

    @Test(.enabled(if: node != nil, "node is not installed"))
    func othersDirect() throws {
        let pac = PACFile.generate(policy: try Self.policy(), proxy: "proxy.corp.example:3128", others: .direct)
        let cases: [(String, String)] = [
            ("contoso-corpsensorapi.atp.azure.com", Self.proxy), ("CONTOSO-corpsensorapi.atp.azure.com", Self.proxy),
            ("contoso-corpsensorapi.atp.azure.com.", Self.proxy), ("x.blob.core.windows.net", Self.proxy),
            ("a.b.blob.core.windows.net", Self.proxy), ("blob.core.windows.net", "DIRECT"), ("xblob.core.windows.net", "DIRECT"),
            ("evil.blob.core.windows.net", Self.proxy), ("crl.microsoft.com", Self.proxy), ("192.0.2.10", Self.proxy),
            ("2001:db8::10", Self.proxy), ("198.51.100.7", "DIRECT"), ("example.com", "DIRECT"), ("intranet", "DIRECT"),
            ("atp.azure.com", "DIRECT"), ("other-corpsensorapi.atp.azure.com", "DIRECT"),
        ]
        #expect(try Self.evaluate(pac, hosts: cases.map(\.0)) == cases.map(\.1))
        #expect(pac.contains("host = host.toLowerCase();"))
        #expect(pac.contains(#"dnsDomainIs(host, ".blob.core.windows.net")"#))
        #expect(pac.contains("198.51.100.0/24"), "skipped CIDR named in a comment")
        #expect(pac.contains("from atpgate.yaml"))
    }

    @Test(.enabled(if: node != nil, "node is not installed"))
    func othersProxyWithBypass() throws {
        let pac = PACFile.generate(policy: try Self.policy(), proxy: "proxy.corp.example:3128", others: .proxy,
                                   bypass: ["<local>", "*.corp.example"])
        let cases: [(String, String)] = [
            ("contoso-corpsensorapi.atp.azure.com", Self.proxy), ("example.com", Self.proxy), ("intranet", "DIRECT"),
            ("files.corp.example", "DIRECT"), ("x.blob.core.windows.net", Self.proxy),
        ]
        #expect(try Self.evaluate(pac, hosts: cases.map(\.0)) == cases.map(\.1))
    }

    @Test(.enabled(if: node != nil, "node is not installed"))
    func emptyPolicyAndHostileText() throws {
        let policy = try PolicyLoader.parse(yaml: "version: 1\n", file: "a\nb.yaml")
        let pac = PACFile.generate(policy: policy, proxy: "p:1\"); x(\"", others: .proxy)
        #expect(try Self.evaluate(pac, hosts: ["a.example"]) == ["PROXY p:1\"); x(\""])
    }
}
