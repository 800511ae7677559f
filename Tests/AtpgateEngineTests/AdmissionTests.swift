import Testing
@testable import AtpgateEngine
import AtpgateIO
import AtpgatePolicy
import AtpgateNet

/// The one admission path the proxy, `cut-denied` and `atpgate explain` share.
@Suite("Admission path")
struct AdmissionTests {
    static let yaml = """
        version: 1
        clients: ["10.1.0.0/16"]
        allow: ["svc.example:443", "http://crl.example/pki/*", "203.0.113.7:443"]
        deny: ["bad.svc.example"]
        networks: {deny: ["198.51.100.0/24"]}
        hosts: {svc.example: 192.0.2.10}
        """

    static func admission(selfAt listener: (String, UInt16)? = nil) throws -> Admission {
        var selfAddresses = SelfAddresses()
        if let (ip, port) = listener { selfAddresses.exact.insert(SocketAddress(ip: IPAddress(ip)!, port: port)) }
        return Admission(policy: try PolicyLoader.parse(yaml: yaml, file: "test.yaml"), selfAddresses: selfAddresses)
    }

    static let client = IPAddress("10.1.2.3")!

    @Test("a client outside `clients` is refused before any destination rule")
    func clientFirst() throws {
        let refused = try Self.admission().decide(client: IPAddress("10.9.9.9")!, host: .name("svc.example"), port: 443,
                                                  kind: .connect, decisionClient: IPAddress("10.9.9.9")!)
        guard case .failure(let refusal) = refused else { Issue.record("allowed"); return }
        #expect(refusal.kind == .clientDenied)
        #expect(refusal.rule.text == "clients")
    }

    @Test("allowed, denied by a rule, denied by default", arguments: [
        ("svc.example", UInt16(443), true, "test.yaml:3"),
        ("bad.svc.example", 443, false, "test.yaml:4"),
        ("other.example", 443, false, "default"),
        ("svc.example", 80, false, "default"),
    ])
    func decisions(host: String, port: UInt16, allowed: Bool, rule: String) throws {
        let result = try Self.admission().decide(client: Self.client, host: try Host.normalize(host), port: port,
                                                 kind: .connect, decisionClient: Self.client)
        switch result {
        case .success(let decision):
            #expect(allowed)
            #expect(decision.rule.text == rule)
        case .failure(let refusal):
            #expect(!allowed)
            #expect(refusal.kind == .denied)
            #expect(refusal.rule.text == rule)
        }
    }

    @Test("addresses without DNS: IP literals and hosts entries; names otherwise need resolving")
    func addressesWithoutDNS() throws {
        let admission = try Self.admission()
        #expect(admission.addressesWithoutDNS(for: .name("svc.example")) == [IPAddress("192.0.2.10")!])
        #expect(admission.addressesWithoutDNS(for: .ip(IPAddress("203.0.113.7")!)) == [IPAddress("203.0.113.7")!])
        #expect(admission.addressesWithoutDNS(for: .name("other.example")) == nil)
    }

    @Test("vetting: one denied address refuses all, the proxy itself is refused, the rest is interleaved IPv6 first")
    func vetting() throws {
        let admission = try Self.admission(selfAt: ("203.0.113.7", 443))
        let host = Host.name("svc.example")
        guard case .failure(let denied) = admission.vet([IPAddress("192.0.2.10")!, IPAddress("198.51.100.1")!],
                                                         host: host, port: 443) else { Issue.record("not refused"); return }
        #expect(denied.kind == .addressDenied)
        #expect(denied.rule.text == "test.yaml:5")
        guard case .failure(let own) = admission.vet([IPAddress("::ffff:203.0.113.7")!], host: host, port: 443) else {
            Issue.record("self not refused"); return
        }
        #expect(own.rule.text == "builtin:self")
        guard case .success(let dial) = admission.vet([IPAddress("192.0.2.10")!, IPAddress("192.0.2.11")!,
                                                       IPAddress("2001:db8::1")!], host: host, port: 443) else {
            Issue.record("refused"); return
        }
        #expect(dial.addresses.map(\.description) == ["[2001:db8::1]:443", "192.0.2.10:443", "192.0.2.11:443"])
    }

    @Test("recheck: what cut-denied asks of an established request")
    func recheck() throws {
        let admission = try Self.admission()
        #expect(admission.recheck(client: Self.client, host: .name("svc.example"), port: 443, kind: .connect,
                                  addresses: [IPAddress("192.0.2.10")!]) == nil)
        #expect(admission.recheck(client: Self.client, host: .name("bad.svc.example"), port: 443, kind: .connect,
                                  addresses: [IPAddress("192.0.2.10")!])?.kind == .denied)
        #expect(admission.recheck(client: Self.client, host: .name("svc.example"), port: 443, kind: .connect,
                                  addresses: [IPAddress("198.51.100.9")!])?.kind == .addressDenied)
    }
}
