#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AtpgateNet
import AtpgatePolicy
import Testing

/// Client admission and the static `hosts:` table.
struct ClientAndHostsTests {
    static let defaults = try! PolicyLoader.parse(yaml: "version: 1\n", file: "atpgate.yaml")

    @Test(arguments: [
        ("127.0.0.1", true), ("127.255.0.9", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("10.1.2.3", false), ("::2", false), ("::ffff:10.1.2.3", false), ("192.168.0.1", false),
    ])
    func defaultClientsAreLoopback(address: String, allowed: Bool) throws {
        let decision = Self.defaults.isClientAllowed(try Fixture.address(address))
        #expect(decision.verdict == (allowed ? .allow : .deny))
        #expect(decision.rule.text == "clients")
    }

    @Test func deniedClientReason() throws {
        let decision = Self.defaults.isClientAllowed(try Fixture.address("::ffff:10.1.2.3"))
        #expect(decision.reason == "client 10.1.2.3 is not in clients")
    }

    @Test func configuredClients() throws {
        let policy = try Fixture.policy("version: 1\nclients: [\"10.0.0.0/8\", \"2001:db8::/32\"]\n")
        #expect(policy.clients.map(\.description) == ["10.0.0.0/8", "2001:db8::/32"])
        #expect(policy.isClientAllowed(try Fixture.address("10.9.9.9")).verdict == .allow)
        #expect(policy.isClientAllowed(try Fixture.address("::ffff:10.9.9.9")).verdict == .allow)
        #expect(policy.isClientAllowed(try Fixture.address("2001:db8::5")).verdict == .allow)
        #expect(policy.isClientAllowed(try Fixture.address("127.0.0.1")).verdict == .deny)
    }

    @Test func defaultsWhenKeysAbsent() throws {
        let policy = Self.defaults
        #expect(policy.listen.map(\.description) == ["127.0.0.1:3128"])
        #expect(policy.clients.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(policy.timeouts == Timeouts())
        #expect(policy.limits == Limits())
        #expect(policy.file == "atpgate.yaml")
        #expect(policy.summary.last == "default deny")
    }

    @Test func staticHosts() throws {
        let policy = try Fixture.policy("""
            version: 1
            hosts:
              Contoso-CorpSensorAPI.atp.azure.com.: 127.0.0.1
              multi.example.com: ["192.0.2.1", "2001:db8::1"]
            """)
        #expect(policy.staticAddresses(for: .name("contoso-corpsensorapi.atp.azure.com")) == [.v4(0x7F00_0001)])
        #expect(policy.staticAddresses(for: .name("multi.example.com")) == [try Fixture.address("192.0.2.1"),
                                                                              try Fixture.address("2001:db8::1")])
        #expect(policy.staticAddresses(for: .name("other.example.com")) == nil)
        #expect(policy.staticAddresses(for: .ip(.v4(0x7F00_0001))) == nil)
        // Static addresses are still vetted by the caller: loopback stays denied.
        #expect(policy.vet([.v4(0x7F00_0001)]) != .allowed)
    }

    @Test func loadsFromDisk() throws {
        let path = "/tmp/atpgate-policy-test-\(UInt32.random(in: 0...UInt32.max)).yaml"
        let yaml = "version: 1\nallow: [\"example.com:443\"]\n"
        try #require(writeFile(path, yaml))
        defer { _ = unlink(path) }
        let policy = try PolicyLoader.load(path: path)
        #expect(policy.file == path)
        let decision = policy.decide(try Fixture.request("example.com", 443))
        #expect(decision.verdict == .allow)
        #expect(decision.rule.text.hasPrefix("atpgate-policy-test-"))
        #expect(decision.rule.text.hasSuffix(".yaml:2"))
    }

    @Test func missingFileIsLineZero() {
        #expect {
            _ = try PolicyLoader.load(path: "/nonexistent/atpgate.yaml")
        } throws: { error in
            guard let error = error as? PolicyError else { return false }
            return error.line == 0 && error.column == 0 && error.file == "/nonexistent/atpgate.yaml"
                && error.description.hasPrefix("/nonexistent/atpgate.yaml:0:0: cannot read policy file")
        }
    }

    @Test func invalidUTF8IsLineZero() throws {
        let path = "/tmp/atpgate-policy-test-\(UInt32.random(in: 0...UInt32.max)).yaml"
        try #require(writeFile(path, bytes: Array("version: 1\n".utf8) + [0xFF, 0xFE]))
        defer { _ = unlink(path) }
        #expect(throws: PolicyError.self) { _ = try PolicyLoader.load(path: path) }
        do {
            _ = try PolicyLoader.load(path: path)
        } catch {
            #expect(error.message == "policy file is not valid UTF-8")
            #expect((error.line, error.column) == (0, 0))
        }
    }

    private func writeFile(_ path: String, _ text: String) -> Bool {
        writeFile(path, bytes: Array(text.utf8))
    }

    private func writeFile(_ path: String, bytes: [UInt8]) -> Bool {
        guard let handle = fopen(path, "wb") else { return false }
        defer { fclose(handle) }
        return fwrite(bytes, 1, bytes.count, handle) == bytes.count
    }
}
