import AtpgateNet
import AtpgatePolicy
import Testing

/// A 10,000-rule policy compiles and decides correctly. Timing is deliberately not
/// asserted (CI machines vary); lookups are hash-based by construction.
struct ScaleTests {
    @Test func tenThousandRules() throws {
        var lines = ["version: 1", "allow:"]
        for i in 0..<4000 { lines.append("  - \"host\(i).example.com:443\"") }
        for i in 0..<3000 { lines.append("  - \"*.tenant\(i).example.net:443,8443\"") }
        for i in 0..<2000 { lines.append("  - \"http://crl\(i).example.org/pki/*\"") }
        for i in 0..<999 { lines.append("  - \"198.51.\(i / 256).\(i % 256)/32:443\"") }
        lines.append("deny:")
        lines.append("  - \"host77.example.com:*\"")
        let policy = try Fixture.policy(lines.joined(separator: "\n"))
        #expect(policy.summary.count > 10_000)

        let expectations: [(String, UInt16, String?, Verdict)] = [
            ("host3999.example.com", 443, nil, .allow),
            ("host4000.example.com", 443, nil, .deny),
            ("host77.example.com", 443, nil, .deny),
            ("a.b.tenant2999.example.net", 8443, nil, .allow),
            ("tenant2999.example.net", 443, nil, .deny),
            ("crl1999.example.org", 80, "/pki/root.crl", .allow),
            ("crl1999.example.org", 80, "/other", .deny),
            ("198.51.3.230", 443, nil, .allow),
            ("198.51.3.231", 443, nil, .deny),
        ]
        for (host, port, path, verdict) in expectations {
            #expect(policy.decide(try Fixture.request(host, port, path: path)).verdict == verdict, "\(host)")
        }
        #expect(policy.decide(try Fixture.request("host77.example.com", 443)).rule.text == "atpgate.yaml:10003")
    }
}
