#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Sizes of one run. `quick` finishes in under 3 minutes with three proxies; `full` is the
/// issue's sizes.
struct Sizes: Sendable {
    var reps: Int
    var throughputBytes: UInt64
    var setupSeconds: Double
    var setupClients: Int
    var setupPayload: Int
    var pingPongs: Int
    var idleTunnels: Int
    var idleSeconds: Double
    var httpSeconds: Double
    var httpClients: Int
    var policyRules: Int
    var policySeconds: Double

    static let quick = Sizes(reps: 3, throughputBytes: 256 << 20, setupSeconds: 2, setupClients: 64, setupPayload: 1024,
                             pingPongs: 5_000, idleTunnels: 2_000, idleSeconds: 2, httpSeconds: 2, httpClients: 16,
                             policyRules: 10_000, policySeconds: 1)
    static let full = Sizes(reps: 5, throughputBytes: 1 << 30, setupSeconds: 10, setupClients: 64, setupPayload: 1024,
                            pingPongs: 50_000, idleTunnels: 10_000, idleSeconds: 5, httpSeconds: 10, httpClients: 16,
                            policyRules: 10_000, policySeconds: 3)
}

/// Runs every scenario against every target, round-robin per repetition (the order rotates
/// each repetition), and reports medians and ratios.
final class Suite {
    let targets: [Target]
    let sink: Endpoint
    let origin: Endpoint
    let sizes: Sizes
    let scenarios: [String]
    /// The inspect scenarios' TLS sink and certificates (`--inspect-sink`); nil when not given.
    let inspect: InspectSetup?
    /// raw[scenario][target] = one Figures per repetition.
    private(set) var raw: [String: [String: [Figures]]] = [:]
    private(set) var failures: [String] = []
    private(set) var policy: PolicyBench.Result?

    init(targets: [Target], sink: Endpoint, origin: Endpoint, sizes: Sizes, scenarios: [String], inspect: InspectSetup? = nil) {
        self.targets = targets
        self.sink = sink
        self.origin = origin
        self.sizes = sizes
        self.scenarios = scenarios
        self.inspect = inspect
    }

    static let allScenarios = ["throughput", "setup", "short16", "short64", "pingpong", "idle", "http", "policy"]

    func run() {
        for scenario in scenarios {
            if scenario == "policy" {
                runPolicy()
                continue
            }
            for rep in 0..<sizes.reps {
                let order = targets.indices.map { targets[($0 + rep) % targets.count] }
                for target in order {
                    if scenario == "idle" && target.isDirect { continue }
                    let started = nowNanos()
                    do {
                        let figures = try runOne(scenario, Scenarios(target: target, sink: sink, origin: origin))
                        raw[scenario, default: [:]][target.name, default: []].append(figures)
                        note(String(format: "%@ rep %d %@: %@ (%.1f s)", scenario, rep + 1, target.name,
                                    Suite.brief(figures), Double(nowNanos() - started) / 1e9))
                    } catch {
                        let text = "\(scenario) rep \(rep + 1) \(target.name): \(error)"
                        failures.append(text)
                        note("FAILED " + text)
                    }
                    sleepSeconds(0.2)
                }
            }
        }
    }

    private func runOne(_ scenario: String, _ client: Scenarios) throws -> Figures {
        switch scenario {
        case "throughput": return try client.throughput(bytes: sizes.throughputBytes)
        case "setup": return try client.setupRate(seconds: sizes.setupSeconds, clients: sizes.setupClients, payload: sizes.setupPayload)
        case "short16": return try client.setupRate(seconds: sizes.setupSeconds, clients: 16, payload: 1024, toLastByte: true)
        case "short64": return try client.setupRate(seconds: sizes.setupSeconds, clients: 64, payload: 1024, toLastByte: true)
        case "pingpong": return try client.pingPong(count: sizes.pingPongs)
        case "idle": return try client.idleTunnels(count: sizes.idleTunnels, idleSeconds: sizes.idleSeconds)
        case "http": return try client.httpForward(seconds: sizes.httpSeconds, clients: sizes.httpClients)
        case "inspect-rate", "inspect-throughput": return try runInspect(scenario, client.target)
        default: throw BenchError.proto("unknown scenario \(scenario)")
        }
    }

    private func runPolicy() {
        do {
            let result = try PolicyBench.run(rules: sizes.policyRules, seconds: sizes.policySeconds, compileReps: sizes.reps)
            policy = result
            note(String(format: "policy: %.2f M decisions/s, compile median %.1f ms", result.decisionsPerSecond / 1e6,
                        Suite.median(result.compileMs) ?? .nan))
        } catch {
            failures.append("policy: \(error)")
        }
    }

    static func brief(_ figures: Figures) -> String {
        figures.keys.sorted().map { String(format: "%@=%.4g", $0, figures[$0]!) }.joined(separator: " ")
    }

    static func median(_ values: [Double]) -> Double? {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    func median(_ scenario: String, _ target: String, _ key: String) -> Double? {
        Suite.median((raw[scenario]?[target] ?? []).compactMap { $0[key] })
    }

    func largest(_ scenario: String, _ target: String, _ key: String) -> Double? {
        (raw[scenario]?[target] ?? []).compactMap { $0[key] }.filter { !$0.isNaN }.max()
    }

    func figure(_ row: Row, _ target: String) -> Double? {
        row.largest ? largest(row.scenario, target, row.key) : median(row.scenario, target, row.key)
    }

    // MARK: Report

    struct Row {
        let label: String
        let scenario: String
        let key: String
        let direct: Bool
        /// Use the largest repetition instead of the median (RSS growth: only the first
        /// repetition against a proxy grows its heap; later ones reuse the freed memory).
        var largest = false
    }

    static let rows: [Row] = [
        Row(label: "Tunnel throughput, GB/s each way", scenario: "throughput", key: "gbps", direct: true),
        Row(label: "Proxy CPU s per GiB relayed", scenario: "throughput", key: "cpu_s_per_gib", direct: false),
        Row(label: "Tunnel setups/s (64 clients)", scenario: "setup", key: "tunnels_per_s", direct: true),
        Row(label: "Setup p50, ms", scenario: "setup", key: "p50_ms", direct: true),
        Row(label: "Setup p99, ms", scenario: "setup", key: "p99_ms", direct: true),
        Row(label: "Setup p99.9, ms", scenario: "setup", key: "p999_ms", direct: true),
        Row(label: "Proxy CPU µs per tunnel setup", scenario: "setup", key: "cpu_us_per_tunnel", direct: false),
        Row(label: "Setup errors", scenario: "setup", key: "errors", direct: true),
        Row(label: "Short tunnels/s, 16 clients (1 KiB each way, to the last byte)", scenario: "short16", key: "tunnels_per_s", direct: true),
        Row(label: "Short tunnel p50, ms (16 clients)", scenario: "short16", key: "p50_ms", direct: true),
        Row(label: "Short tunnel p99, ms (16 clients)", scenario: "short16", key: "p99_ms", direct: true),
        Row(label: "Proxy CPU µs per short tunnel (16 clients)", scenario: "short16", key: "cpu_us_per_tunnel", direct: false),
        Row(label: "Short tunnels/s, 64 clients", scenario: "short64", key: "tunnels_per_s", direct: true),
        Row(label: "Short tunnel p50, ms (64 clients)", scenario: "short64", key: "p50_ms", direct: true),
        Row(label: "Short tunnel p99, ms (64 clients)", scenario: "short64", key: "p99_ms", direct: true),
        Row(label: "Proxy CPU µs per short tunnel (64 clients)", scenario: "short64", key: "cpu_us_per_tunnel", direct: false),
        Row(label: "1-byte ping-pong p50, µs", scenario: "pingpong", key: "p50_us", direct: true),
        Row(label: "1-byte ping-pong p99, µs", scenario: "pingpong", key: "p99_us", direct: true),
        Row(label: "Idle tunnels opened", scenario: "idle", key: "tunnels", direct: false),
        Row(label: "RSS per idle tunnel, KiB (largest rep)", scenario: "idle", key: "rss_kib_per_tunnel", direct: false, largest: true),
        Row(label: "CPU while idle, %", scenario: "idle", key: "idle_cpu_percent", direct: false),
        Row(label: "HTTP GET 1 KiB, requests/s (16 keep-alive clients)", scenario: "http", key: "requests_per_s", direct: true),
        Row(label: "HTTP GET p99, ms", scenario: "http", key: "p99_ms", direct: true),
        Row(label: "Proxy CPU µs per HTTP request", scenario: "http", key: "cpu_us_per_request", direct: false),
        Row(label: "Client connections per request", scenario: "http", key: "connections_per_request", direct: true),
    ]

    static func format(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        let magnitude = abs(value)
        if magnitude >= 1000 { return String(format: "%.0f", value) }
        if magnitude >= 100 { return String(format: "%.1f", value) }
        if magnitude >= 10 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }

    static func ratio(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, b != 0, a.isFinite, b.isFinite else { return "–" }
        return String(format: "%.2f", a / b)
    }

    /// The Markdown table: medians per target, then proxy ÷ direct and subject ÷ each peer.
    func table() -> String {
        let direct = targets.first { $0.isDirect }?.name
        let proxies = targets.filter { !$0.isDirect }.map(\.name)
        guard let subject = proxies.first else { return "" }
        let peers = proxies.dropFirst()
        var header = ["Metric (median of \(sizes.reps))"] + targets.map(\.name)
        if let direct { header += proxies.map { "\($0) ÷ \(direct)" } }
        header += peers.map { "\(subject) ÷ \($0)" }
        var lines = ["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: header.count)]
        for row in Suite.rows + inspectRows where raw[row.scenario] != nil {
            var cells = [row.label]
            for target in targets {
                cells.append(target.isDirect && !row.direct ? "–" : Suite.format(figure(row, target.name)))
            }
            if let direct {
                for proxy in proxies {
                    cells.append(row.direct && row.key != "errors" && row.key != "connections_per_request"
                                 ? Suite.ratio(figure(row, proxy), figure(row, direct)) : "–")
                }
            }
            for peer in peers {
                cells.append(["errors", "tunnels", "connections_per_request"].contains(row.key) ? "–"
                             : Suite.ratio(figure(row, subject), figure(row, peer)))
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        if raw["pingpong"] != nil, let direct {
            for (label, key) in [("Ping-pong p50 added over direct, µs", "p50_us"), ("Ping-pong p99 added over direct, µs", "p99_us")] {
                var cells = [label]
                let base = median("pingpong", direct, key)
                for target in targets {
                    if target.isDirect { cells.append("–"); continue }
                    cells.append(Suite.format(median("pingpong", target.name, key).flatMap { v in base.map { v - $0 } }))
                }
                cells += proxies.map { _ in "–" }
                cells += peers.map { _ in "–" }
                lines.append("| " + cells.joined(separator: " | ") + " |")
            }
        }
        if let policy {
            lines.append("")
            lines.append("| Policy (\(policy.rules) rules, one thread) | value |")
            lines.append("|---|---|")
            lines.append(String(format: "| Decisions/s | %.2f M |", policy.decisionsPerSecond / 1e6))
            lines.append(String(format: "| Compile time, median of %d | %.1f ms |", policy.compileMs.count, Suite.median(policy.compileMs) ?? .nan))
            lines.append(String(format: "| Allowed fraction of the request mix | %.2f |", policy.allowedFraction))
        }
        return lines.joined(separator: "\n")
    }

    /// The issue's targets, met or missed (atpgate against the direct path and the peers).
    func targetsTable(subject: String = "atpgate") -> String {
        func m(_ scenario: String, _ target: String, _ key: String) -> Double? { median(scenario, target, key) }
        var lines = ["| Target | Measured | Verdict |", "|---|---|---|"]
        if inspectOnly { return (lines + inspectTargetLines(subject: subject)).joined(separator: "\n") }
        func add(_ name: String, _ measured: String, _ met: Bool?) {
            lines.append("| \(name) | \(measured) | \(met.map { $0 ? "met" : "**missed**" } ?? "not measured") |")
        }
        func check(_ a: Double?, _ b: Double?, _ test: (Double, Double) -> Bool) -> Bool? {
            guard let a, let b else { return nil }
            return test(a, b)
        }
        let tput = m("throughput", subject, "gbps"), tputDirect = m("throughput", "direct", "gbps")
        add("Throughput ≥ 0.8 × direct", "\(Suite.format(tput)) vs \(Suite.format(tputDirect)) GB/s (\(Suite.ratio(tput, tputDirect)) ×)",
            check(tput, tputDirect) { $0 >= 0.8 * $1 })
        let cpu = m("throughput", subject, "cpu_s_per_gib"), cpuSquid = m("throughput", "squid", "cpu_s_per_gib")
        add("Proxy CPU per GiB ≤ 0.5 × Squid's", "\(Suite.format(cpu)) vs \(Suite.format(cpuSquid)) s/GiB (\(Suite.ratio(cpu, cpuSquid)) ×)",
            check(cpu, cpuSquid) { $0 <= 0.5 * $1 })
        add("Proxy CPU per GiB ≤ 0.35 × Squid's (engine v2)",
            "\(Suite.format(cpu)) vs \(Suite.format(cpuSquid)) s/GiB (\(Suite.ratio(cpu, cpuSquid)) ×)", check(cpu, cpuSquid) { $0 <= 0.35 * $1 })
        let rate = m("setup", subject, "tunnels_per_s"), rateTiny = m("setup", "tinyproxy", "tunnels_per_s"), rateSquid = m("setup", "squid", "tunnels_per_s")
        add("Setup rate ≥ 1.3 × tinyproxy", "\(Suite.format(rate)) vs \(Suite.format(rateTiny)) /s (\(Suite.ratio(rate, rateTiny)) ×)",
            check(rate, rateTiny) { $0 >= 1.3 * $1 })
        add("Setup rate ≥ 2 × Squid", "\(Suite.format(rate)) vs \(Suite.format(rateSquid)) /s (\(Suite.ratio(rate, rateSquid)) ×)",
            check(rate, rateSquid) { $0 >= 2 * $1 })
        let p99 = m("setup", subject, "p99_ms"), p99Tiny = m("setup", "tinyproxy", "p99_ms")
        add("Setup p99 ≤ tinyproxy's", "\(Suite.format(p99)) vs \(Suite.format(p99Tiny)) ms", check(p99, p99Tiny) { $0 <= $1 })
        for (scenario, clients) in [("short16", 16), ("short64", 64)] {
            let rate = m(scenario, subject, "tunnels_per_s"), rateTiny = m(scenario, "tinyproxy", "tunnels_per_s")
            add("Short-tunnel rate ≥ 1.0 × tinyproxy (\(clients) clients)",
                "\(Suite.format(rate)) vs \(Suite.format(rateTiny)) /s (\(Suite.ratio(rate, rateTiny)) ×)", check(rate, rateTiny) { $0 >= $1 })
            let p99 = m(scenario, subject, "p99_ms"), p99Tiny = m(scenario, "tinyproxy", "p99_ms")
            add("Short-tunnel p99 ≤ tinyproxy's (\(clients) clients)", "\(Suite.format(p99)) vs \(Suite.format(p99Tiny)) ms",
                check(p99, p99Tiny) { $0 <= $1 })
            let cpu = m(scenario, subject, "cpu_us_per_tunnel"), cpuTiny = m(scenario, "tinyproxy", "cpu_us_per_tunnel")
            add("CPU per short tunnel ≤ tinyproxy's (\(clients) clients)",
                "\(Suite.format(cpu)) vs \(Suite.format(cpuTiny)) µs (\(Suite.ratio(cpu, cpuTiny)) ×)", check(cpu, cpuTiny) { $0 <= $1 })
        }
        let ping = m("pingpong", subject, "p99_us"), pingTiny = m("pingpong", "tinyproxy", "p99_us")
        add("1-byte ping-pong p99 ≤ tinyproxy's", "\(Suite.format(ping)) vs \(Suite.format(pingTiny)) µs", check(ping, pingTiny) { $0 <= $1 })
        let rss = largest("idle", subject, "rss_kib_per_tunnel")
        let opened = m("idle", subject, "tunnels")
        add("≤ 8 KiB RSS per idle tunnel", "\(Suite.format(rss)) KiB, largest rep (\(Suite.format(opened)) tunnels)", rss.map { $0 <= 8 })
        add("≤ 4 KiB RSS per idle tunnel (engine v2)", "\(Suite.format(rss)) KiB", rss.map { $0 <= 4 })
        let gets = m("http", subject, "requests_per_s"), getsSquid = m("http", "squid", "requests_per_s")
        add("Keep-alive HTTP GETs ≥ Squid's requests/s",
            "\(Suite.format(gets)) vs \(Suite.format(getsSquid)) /s (\(Suite.ratio(gets, getsSquid)) ×)", check(gets, getsSquid) { $0 >= $1 })
        let perGet = m("http", subject, "cpu_us_per_request"), perGetSquid = m("http", "squid", "cpu_us_per_request")
        add("CPU per HTTP request ≤ Squid's",
            "\(Suite.format(perGet)) vs \(Suite.format(perGetSquid)) µs (\(Suite.ratio(perGet, perGetSquid)) ×)",
            check(perGet, perGetSquid) { $0 <= $1 })
        let decisions = policy?.decisionsPerSecond
        add("≥ 2 M decisions/s at 10,000 rules", decisions.map { String(format: "%.2f M/s", $0 / 1e6) } ?? "–", decisions.map { $0 >= 2e6 })
        let compile = policy.flatMap { Suite.median($0.compileMs) }
        add("10,000-rule compile < 200 ms", compile.map { String(format: "%.1f ms", $0) } ?? "–", compile.map { $0 < 200 })
        lines += inspectTargetLines(subject: subject)
        return lines.joined(separator: "\n")
    }

    /// Every raw figure, the sizes, the targets and failures.
    func json(extra: [String: String]) throws -> Data {
        var document: [String: Any] = [:]
        document["sizes"] = [
            "reps": sizes.reps, "throughput_bytes": sizes.throughputBytes, "setup_seconds": sizes.setupSeconds,
            "setup_clients": sizes.setupClients, "setup_payload": sizes.setupPayload, "ping_pongs": sizes.pingPongs,
            "idle_tunnels": sizes.idleTunnels, "idle_seconds": sizes.idleSeconds, "http_seconds": sizes.httpSeconds,
            "http_clients": sizes.httpClients, "policy_rules": sizes.policyRules, "policy_seconds": sizes.policySeconds,
        ] as [String: Any]
        document["targets"] = targets.map { target -> [String: Any] in
            var entry: [String: Any] = ["name": target.name, "target_host": target.targetHost]
            if let proxy = target.proxy { entry["proxy"] = proxy.description }
            if let pid = target.pid { entry["pid"] = Int(pid) }
            return entry
        }
        document["raw"] = raw.mapValues { $0.mapValues { reps in reps.map { $0.mapValues { $0.isFinite ? $0 : -1 } } } }
        var medians: [String: [String: [String: Double]]] = [:]
        for (scenario, perTarget) in raw {
            for (target, reps) in perTarget {
                let keys = Set(reps.flatMap(\.keys))
                for key in keys {
                    if let value = median(scenario, target, key), value.isFinite { medians[scenario, default: [:]][target, default: [:]][key] = value }
                }
            }
        }
        document["medians"] = medians
        if let policy {
            document["policy"] = ["rules": policy.rules, "compile_ms": policy.compileMs,
                                  "decisions_per_s": policy.decisionsPerSecond, "allowed_fraction": policy.allowedFraction] as [String: Any]
        }
        document["failures"] = failures
        for (key, value) in extra { document[key] = value }
        return try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
    }
}
