import AtpgateNet
import AtpgatePolicy
import Testing

/// The keys for running in production (issue 12): mode, admin, limits.max_connections*, timeouts.tunnel, log.
struct ProductionSettingsTests {
    static let defaults = try! PolicyLoader.parse(yaml: "version: 1\n", file: "atpgate.yaml")

    @Test func defaultsWhenKeysAbsent() {
        let policy = Self.defaults
        #expect(policy.mode == .enforce)
        #expect(policy.admin == nil)
        #expect(policy.limits.maxConnections == nil)
        #expect(policy.limits.maxConnectionsPerClient == nil)
        #expect(policy.timeouts.tunnel == nil)
        #expect(policy.log == LogSettings())
        #expect(policy.log.access == nil)
    }

    @Test(arguments: [("enforce", DecisionMode.enforce), ("report", .report)])
    func mode(text: String, mode: DecisionMode) throws {
        #expect(try Fixture.policy("version: 1\nmode: \(text)\n").mode == mode)
    }

    @Test func adminAsString() throws {
        let policy = try Fixture.policy("version: 1\nadmin: \"127.0.0.1:9090\"\n")
        let admin = try #require(policy.admin)
        #expect(admin.listen == ListenAddress("127.0.0.1:9090"))
        #expect(admin.clients.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(admin == AdminSettings(listen: ListenAddress("127.0.0.1:9090")!))
    }

    @Test func adminAsMapping() throws {
        let policy = try Fixture.policy("""
            version: 1
            admin:
              listen: "[::]:9090"
              clients: ["10.0.0.0/8", "2001:db8::/32"]
            """)
        let admin = try #require(policy.admin)
        #expect(admin.listen.description == "[::]:9090")
        #expect(admin.clients.map(\.description) == ["10.0.0.0/8", "2001:db8::/32"])
        // Only the admin listener's clients change: the proxy's own stay loopback.
        #expect(policy.clients.map(\.description) == ["127.0.0.0/8", "::1/128"])
    }

    @Test func adminMappingWithoutClientsIsLoopback() throws {
        let admin = try #require(try Fixture.policy("version: 1\nadmin: {listen: 127.0.0.1:9090}\n").admin)
        #expect(admin.clients == AdminSettings.defaultClients)
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("127.9.9.9", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("10.1.2.3", false), ("::ffff:10.1.2.3", false), ("::2", false),
    ])
    func adminDefaultClients(address: String, admitted: Bool) throws {
        let admin = AdminSettings(listen: ListenAddress("127.0.0.1:9090")!)
        #expect(admin.admits(try Fixture.address(address)) == admitted)
    }

    @Test(arguments: [
        ("10.1.2.3", true), ("::ffff:10.1.2.3", true), ("2001:db8::5", true),
        ("127.0.0.1", false), ("::1", false), ("11.0.0.1", false),
    ])
    func adminConfiguredClients(address: String, admitted: Bool) throws {
        let policy = try Fixture.policy("version: 1\nadmin: {listen: \"0.0.0.0:9090\", clients: [\"10.0.0.0/8\", \"2001:db8::/32\"]}\n")
        #expect(try #require(policy.admin).admits(try Fixture.address(address)) == admitted)
    }

    @Test(arguments: [
        "listen: 127.0.0.1:3128\nadmin: 127.0.0.1:3129",     // same address, another port
        "listen: 127.0.0.1:3128\nadmin: 127.0.0.2:3128",     // same port, another address
        "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0",           // any free port each
        "listen: \"[::1]:3128\"\nadmin: 127.0.0.1:3128",     // other family
    ])
    func adminBesideListen(yaml: String) throws {
        #expect(try Fixture.policy("version: 1\n\(yaml)\n").admin != nil)
    }

    @Test func connectionLimits() throws {
        let policy = try Fixture.policy("version: 1\nlimits: {max_connections: 1000, max_connections_per_client: 50}\n")
        #expect(policy.limits.maxConnections == 1000)
        #expect(policy.limits.maxConnectionsPerClient == 50)
        #expect(policy.limits.headBytes == Limits().headBytes)
    }

    @Test(arguments: [
        ("max_connections: 1", 1, nil), ("max_connections: 1000000", 1_000_000, nil),
        ("max_connections_per_client: 7", nil, 7), ("{max_connections: 5, max_connections_per_client: 5}", 5, 5),
    ] as [(String, Int?, Int?)])
    func connectionLimitBounds(yaml: String, total: Int?, perClient: Int?) throws {
        let text = yaml.hasPrefix("{") ? "limits: \(yaml)" : "limits: {\(yaml)}"
        let policy = try Fixture.policy("version: 1\n\(text)\n")
        #expect(policy.limits.maxConnections == total)
        #expect(policy.limits.maxConnectionsPerClient == perClient)
    }

    @Test(arguments: [("1h", 3600.0), ("90s", 90.0), ("500ms", 0.5), ("2m", 120.0)])
    func tunnelTimeout(text: String, seconds: Double) throws {
        let policy = try Fixture.policy("version: 1\ntimeouts: {tunnel: \(text)}\n")
        #expect(policy.timeouts.tunnel == seconds)
        #expect(policy.timeouts.idle == Timeouts().idle)
    }

    @Test(arguments: [
        ("/var/log/atpgate/access.log", "/etc/atpgate/atpgate.yaml", "/var/log/atpgate/access.log"),
        ("logs/access.log", "/etc/atpgate/atpgate.yaml", "/etc/atpgate/logs/access.log"),
        ("access.log", "atpgate.yaml", "access.log"),
        ("access.log", "conf/atpgate.yaml", "conf/access.log"),
    ])
    func logAccessPath(written: String, policyFile: String, resolved: String) throws {
        let policy = try PolicyLoader.parse(yaml: "version: 1\nlog: {access: \"\(written)\"}\n", file: policyFile)
        #expect(policy.log.access == resolved)
    }

    @Test func logDashIsStandardOutput() throws {
        #expect(try Fixture.policy("version: 1\nlog: {access: \"-\"}\n").log.access == nil)
        #expect(try Fixture.policy("version: 1\nlog: {}\n").log.access == nil)
    }

    @Test func summaryLines() throws {
        let policy = try Fixture.policy("""
            version: 1
            mode: report
            admin: 127.0.0.1:9090
            limits: {max_connections: 1000, max_connections_per_client: 50}
            timeouts: {tunnel: 1h}
            log: {access: /var/log/atpgate/access.log}
            """)
        let summary = policy.summary
        #expect(summary.contains("mode report"))
        #expect(summary.contains("admin 127.0.0.1:9090 clients 127.0.0.0/8, ::1/128"))
        #expect(summary.contains("limits max_connections 1000 max_connections_per_client 50"))
        #expect(summary.contains("timeouts tunnel 1h"))
        #expect(summary.contains("log access /var/log/atpgate/access.log"))
        #expect(summary.last == "default deny (reported, not enforced: mode report)")
    }

    @Test func summaryOfDefaults() throws {
        let summary = Self.defaults.summary
        #expect(summary.contains("mode enforce"))
        #expect(summary.contains("log access stdout"))
        #expect(!summary.contains { $0.hasPrefix("admin ") || $0.hasPrefix("limits ") || $0.hasPrefix("timeouts ") })
        let oneLimit = try Fixture.policy("version: 1\nlimits: {max_connections_per_client: 8}\ntimeouts: {tunnel: 90s}\n").summary
        #expect(oneLimit.contains("limits max_connections off max_connections_per_client 8"))
        #expect(oneLimit.contains("timeouts tunnel 90s"))
    }

    static let errors: [ErrorCase] = [
        ErrorCase("version: 1\nmode: audit\n", 2, 7, "mode must be enforce or report, got 'audit'"),
        ErrorCase("version: 1\nmode: [report]\n", 2, 7, "mode must be a string"),
        ErrorCase("version: 1\nmdoe: report\n", 2, 1, "did you mean 'mode'?"),
        ErrorCase("version: 1\nadmin: \"localhost:9090\"\n", 2, 8, "bad admin.listen address 'localhost:9090'"),
        ErrorCase("version: 1\nadmin:\n  listen: 127.0.0.1\n", 3, 11, "bad admin.listen address '127.0.0.1'"),
        ErrorCase("version: 1\nadmin:\n  listen: 127.0.0.1:9090\n  client: [\"10.0.0.0/8\"]\n", 4, 3,
                  "unknown key 'client' in admin (did you mean 'clients'?)"),
        ErrorCase("version: 1\nadmin:\n  clients: [\"10.0.0.0/8\"]\n", 3, 3, "admin needs 'listen'"),
        ErrorCase("version: 1\nadmin: [127.0.0.1:9090]\n", 2, 8, "admin must be a mapping"),
        ErrorCase("version: 1\nadmin:\n  listen: 127.0.0.1:9090\n  clients: [\"10.0.0.0/33\"]\n", 4, 13,
                  "bad CIDR '10.0.0.0/33' in admin.clients"),
        ErrorCase("version: 1\nadmin:\n  listen: 127.0.0.1:9090\n  clients: []\n", 4, 12, "admin.clients must not be empty"),
        // The default listen address, then one written after admin, then a wildcard listener on the same port.
        ErrorCase("version: 1\nadmin: 127.0.0.1:3128\n", 2, 8, "admin.listen 127.0.0.1:3128 takes the proxy's listen address 127.0.0.1:3128"),
        ErrorCase("version: 1\nadmin: {listen: \"[::1]:9090\"}\nlisten: [\"127.0.0.1:3128\", \"[::1]:9090\"]\n", 2, 17,
                  "admin.listen [::1]:9090 takes the proxy's listen address [::1]:9090"),
        ErrorCase("version: 1\nlisten: 0.0.0.0:3128\nadmin: 10.0.0.1:3128\n", 3, 8, "takes the proxy's listen address 0.0.0.0:3128"),
        ErrorCase("version: 1\nlimits:\n  max_connections: 0\n", 3, 20, "limits.max_connections must be an integer from 1 to 1000000, got '0'"),
        ErrorCase("version: 1\nlimits:\n  max_connections: 1000001\n", 3, 20, "limits.max_connections must be an integer from 1 to 1000000"),
        ErrorCase("version: 1\nlimits:\n  max_connections_per_client: -1\n", 3, 31, "limits.max_connections_per_client must be an integer"),
        ErrorCase("version: 1\nlimits:\n  max_connections: 10\n  max_connections_per_client: 11\n", 4, 31,
                  "limits.max_connections_per_client (11) must not exceed limits.max_connections (10)"),
        ErrorCase("version: 1\nlimits:\n  max_connections_per_client: 11\n  max_connections: 10\n", 3, 31,
                  "limits.max_connections_per_client (11) must not exceed limits.max_connections (10)"),
        ErrorCase("version: 1\nlimits:\n  max_conections: 10\n", 3, 3, "did you mean 'max_connections'?"),
        ErrorCase("version: 1\ntimeouts:\n  tunnel: 0\n", 3, 11, "bad duration '0' for timeouts.tunnel"),
        ErrorCase("version: 1\ntimeouts:\n  tunel: 1h\n", 3, 3, "did you mean 'tunnel'?"),
        ErrorCase("version: 1\nlog:\n  acess: /var/log/a.log\n", 3, 3, "unknown key 'acess' in log (did you mean 'access'?)"),
        ErrorCase("version: 1\nlog: /var/log/a.log\n", 2, 6, "log must be a mapping"),
        ErrorCase("version: 1\nlog: {access: \"\"}\n", 2, 15, "log.access must not be empty"),
        ErrorCase("version: 1\nlog: {access: \"a\\nb\"}\n", 2, 15, "log.access must not contain control characters"),
        ErrorCase("version: 1\nlog: {access: ~}\n", 2, 15, "log.access must be a string"),
    ]

    @Test(arguments: errors)
    func loadErrors(_ errorCase: ErrorCase) throws {
        let error = try #require(Fixture.loadError(errorCase.yaml))
        #expect(error.file == "atpgate.yaml")
        errorCase.check(error)
    }
}
