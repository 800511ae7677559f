/// The suite's side of the inspect scenarios (issue 11): their names, how one runs, the table's rows and
/// the issue's target. Kept apart from Suite.swift so that the other scenarios read as before.
extension Suite {
    /// Run only when `--inspect-sink` is given (they need the TLS sink and the certificates).
    static let inspectScenarios = ["inspect-rate", "inspect-throughput"]

    func runInspect(_ scenario: String, _ target: Target) throws(BenchError) -> Figures {
        guard let inspect else { throw .proto("\(scenario) needs --inspect-sink and the certificates") }
        let client = InspectScenarios(target: target, setup: inspect)
        switch scenario {
        case "inspect-rate": return try client.rate(seconds: inspect.seconds, clients: inspect.clients)
        case "inspect-throughput": return try client.throughput(bytes: inspect.bytes)
        default: throw .proto("unknown scenario \(scenario)")
        }
    }

    var inspectRows: [Row] {
        let clients = inspect?.clients ?? 16
        let mib = (inspect?.bytes ?? 0) >> 20
        return [
            Row(label: "Mutual-TLS connections/s (\(clients) clients: handshake(s) + GET 1 KiB + close)", scenario: "inspect-rate",
                key: "connections_per_s", direct: true),
            Row(label: "Connection p50, ms (connect to close)", scenario: "inspect-rate", key: "p50_ms", direct: true),
            Row(label: "Connection p99, ms", scenario: "inspect-rate", key: "p99_ms", direct: true),
            Row(label: "Proxy CPU µs per inspected connection", scenario: "inspect-rate", key: "cpu_us_per_connection", direct: false),
            Row(label: "Sink CPU µs per connection", scenario: "inspect-rate", key: "sink_cpu_us_per_connection", direct: true),
            Row(label: "Generator CPU µs per connection", scenario: "inspect-rate", key: "generator_cpu_us_per_connection", direct: true),
            Row(label: "Machine CPU busy during inspect-rate, % of all cores", scenario: "inspect-rate", key: "machine_busy_percent", direct: true),
            Row(label: "Connection errors", scenario: "inspect-rate", key: "errors", direct: true),
            Row(label: "One connection, GET \(mib) MiB: MB/s", scenario: "inspect-throughput", key: "mbps", direct: true),
            Row(label: "Proxy CPU s per GiB (inspected download)", scenario: "inspect-throughput", key: "cpu_s_per_gib", direct: false),
            Row(label: "Sink CPU s per GiB", scenario: "inspect-throughput", key: "sink_cpu_s_per_gib", direct: true),
            Row(label: "Machine CPU busy during the download, % of all cores", scenario: "inspect-throughput", key: "machine_busy_percent",
                direct: true),
        ]
    }

    /// The issue's target for inspection, and the throughput it asks to report, as lines of the targets
    /// table; none when the inspect scenarios did not run.
    func inspectTargetLines(subject: String) -> [String] {
        guard raw["inspect-rate"] != nil || raw["inspect-throughput"] != nil else { return [] }
        let rate = median("inspect-rate", subject, "connections_per_s"), rateDirect = median("inspect-rate", "direct", "connections_per_s")
        let met = rate.flatMap { rate in rateDirect.map { rate >= 0.4 * $0 } }
        let speed = median("inspect-throughput", subject, "mbps"), speedDirect = median("inspect-throughput", "direct", "mbps")
        return [
            "| Inspected connections/s ≥ 0.4 × direct mutual TLS | \(Suite.format(rate)) vs \(Suite.format(rateDirect)) /s "
                + "(\(Suite.ratio(rate, rateDirect)) ×) | \(met.map { $0 ? "met" : "**missed**" } ?? "not measured") |",
            "| Inspected throughput on one connection | \(Suite.format(speed)) vs \(Suite.format(speedDirect)) MB/s "
                + "(\(Suite.ratio(speed, speedDirect)) ×) | \(speed == nil ? "not measured" : "reported (no target)") |",
        ]
    }

    /// True when only inspect scenarios ran: the targets table then shows only theirs.
    var inspectOnly: Bool { scenarios.allSatisfy { Suite.inspectScenarios.contains($0) } }
}
