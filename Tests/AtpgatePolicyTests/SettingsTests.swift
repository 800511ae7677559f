import AtpgateNet
import AtpgatePolicy
import Testing

/// timeouts, limits and listen parsing.
struct SettingsTests {
    @Test(arguments: [
        ("10s", 10.0), ("500ms", 0.5), ("1.5s", 1.5), ("2m", 120.0), ("1h", 3600.0), ("7", 7.0),
        ("0.25", 0.25), ("\"30\"", 30.0), ("1ms", 0.001),
    ])
    func durations(text: String, seconds: Double) throws {
        let policy = try Fixture.policy("version: 1\ntimeouts:\n  connect: \(text)\n")
        #expect(policy.timeouts.connect == seconds)
    }

    @Test(arguments: ["0", "0s", "0ms", "-1s", "1.s", ".5s", "1e3", "10 s", "10sec", "s", "1d", "1.5.2s", "ten", "\"\"", "~"])
    func badDurations(text: String) throws {
        let error = try #require(Fixture.loadError("version: 1\ntimeouts:\n  idle: \(text)\n"))
        #expect((error.line, error.column) == (3, 9))
    }

    @Test func allTimeoutKeys() throws {
        let policy = try Fixture.policy("version: 1\ntimeouts: {head: 1s, dns: 2s, connect: 3s, response: 4s, idle: 5s, grace: 6s}\n")
        var expected = Timeouts()
        expected.head = 1; expected.dns = 2; expected.connect = 3
        expected.response = 4; expected.idle = 5; expected.grace = 6
        #expect(policy.timeouts == expected)
    }

    @Test func partialTimeoutsKeepDefaults() throws {
        let policy = try Fixture.policy("version: 1\ntimeouts: {idle: 1h}\n")
        #expect(policy.timeouts.idle == 3600)
        #expect(policy.timeouts.head == 10)
        #expect(policy.timeouts.response == 30)
    }

    @Test(arguments: [1024, 16384, 1_048_576])
    func headBytes(value: Int) throws {
        #expect(try Fixture.policy("version: 1\nlimits: {head_bytes: \(value)}\n").limits.headBytes == value)
    }

    @Test(arguments: [
        ("127.0.0.1:3128", "127.0.0.1:3128"), ("[::1]:3128", "[::1]:3128"), ("0.0.0.0:3128", "0.0.0.0:3128"),
        ("[::]:3128", "[::]:3128"), ("[2001:DB8::1]:65535", "[2001:db8::1]:65535"), ("10.0.0.1:1", "10.0.0.1:1"), ("127.0.0.1:0", "127.0.0.1:0"),
    ])
    func listenAddresses(text: String, expected: String) throws {
        let address = try #require(ListenAddress(text))
        #expect(address.description == expected)
        #expect(ListenAddress(address.description) == address)
    }

    @Test(arguments: [
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:00", "127.0.0.1:65536", "127.0.0.1:03128", "::1:3128", "[::1]",
        "[::1]:", "[127.0.0.1]:3128", "localhost:3128", ":3128", "[::1]3128", "127.0.0.1:+80", "1.2.3:80", "",
    ])
    func badListenAddresses(text: String) {
        #expect(ListenAddress(text) == nil)
    }

    @Test func listenAcceptsStringOrList() throws {
        #expect(try Fixture.policy("version: 1\nlisten: \"[::]:8080\"\n").listen.map(\.description) == ["[::]:8080"])
        let both = try Fixture.policy("version: 1\nlisten:\n  - 127.0.0.1:3128\n  - \"[::1]:3128\"\n")
        #expect(both.listen == [ListenAddress(ip: .v4(0x7F00_0001), port: 3128), ListenAddress(ip: .v6(0, 1), port: 3128)])
    }
}
