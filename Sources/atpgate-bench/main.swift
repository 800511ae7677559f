#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `atpgate-bench`: the load generator of scripts/bench. Plain threads, blocking sockets
/// (the sink: one poll(2) thread), HdrHistogram for latencies.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atpgate-bench",
        abstract: "Load generator, sink and origin for scripts/bench.",
        subcommands: [SuiteCommand.self, SinkCommand.self, TLSSinkCommand.self, MintCommand.self, SoakCommand.self, PolicyCommand.self, FreePortsCommand.self, WaitPortCommand.self]
    )
}

struct SinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sink", abstract: "Run the sink (raw protocol) and the HTTP origin.")

    @Option(help: "Sink address (raw protocol).") var listen: String = "127.0.0.1:0"
    @Option(help: "HTTP origin address.") var http: String = "127.0.0.1:0"
    @Option(help: "Size of the object every GET returns.") var objectBytes: Int = 1024
    @Option(help: "Exit after this many seconds.") var maxSeconds: Double = 7200
    @Option(help: "Exit when this process is gone.") var parent: Int32?

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        guard let raw = Endpoint(listen), let origin = Endpoint(http) else { throw ValidationError("addresses are IPv4 HOST:PORT") }
        let server = try SinkServer(raw: raw, http: origin, objectBytes: objectBytes)
        note("sink listening on \(raw), origin on \(origin)")
        server.run(maxSeconds: maxSeconds, parent: parent)
    }
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Policy compile time and decisions/s on one thread.")

    @Option(help: "Number of rules.") var rules: Int = 10_000
    @Option(help: "Seconds of deciding.") var seconds: Double = 2
    @Option(help: "Compiles to time.") var compiles: Int = 5
    @Flag(help: "Print the generated policy and exit.") var printPolicy = false
    @Flag(help: "Also time each request kind alone.") var byKind = false

    func run() throws {
        if printPolicy {
            print(PolicyBench.yaml(rules: rules), terminator: "")
            return
        }
        let result = try PolicyBench.run(rules: rules, seconds: seconds, compileReps: compiles)
        print(String(format: "rules %d: %.2f M decisions/s (allowed %.2f), compile median %.1f ms (all: %@)",
                     result.rules, result.decisionsPerSecond / 1e6, result.allowedFraction,
                     Suite.median(result.compileMs) ?? .nan, result.compileMs.map { String(format: "%.1f", $0) }.joined(separator: " ")))
        if byKind {
            for (name, rate) in try PolicyBench.byKind(rules: rules, seconds: seconds / 4) {
                print(String(format: "  %@: %.2f M decisions/s", name, rate / 1e6))
            }
        }
    }
}

struct FreePortsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "free-ports", abstract: "Print N free loopback TCP ports.")
    @Argument var count: Int = 1

    func run() throws {
        var fds: [Int32] = []
        for _ in 0..<min(count, 64) {
            let fd = try Sock.listen(Endpoint(host: "127.0.0.1", port: 0), nonBlocking: false)
            fds.append(fd)
            print(Sock.localPort(fd))
        }
        fds.forEach { close($0) }
    }
}

struct WaitPortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait-port", abstract: "Wait until HOST:PORT accepts connections.")
    @Argument var address: String
    @Option var timeout: Double = 20

    func run() throws {
        guard let endpoint = Endpoint(address) else { throw ValidationError("bad address \(address)") }
        let deadline = nowNanos() + UInt64(timeout * 1e9)
        while nowNanos() < deadline {
            if let fd = try? Sock.connect(endpoint, timeoutSeconds: 1) {
                close(fd)
                return
            }
            usleep(100_000)
        }
        throw ExitCode(1)
    }
}

struct SuiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Run the scenarios against direct and every proxy, round-robin; print the table, write JSON."
    )

    @Flag(help: "Issue sizes (1 GiB, 10 s, 10,000 idle tunnels, 5 repetitions) instead of quick ones.") var full = false
    @Option(help: "Sink address.") var sink: String
    @Option(help: "HTTP origin address.") var origin: String
    @Option(help: "NAME=HOST:PORT,pid=PID,host=TARGETHOST (repeatable; the first is the subject).") var proxy: [String] = []
    @Flag(inversion: .prefixedNo, help: "Include the direct path.") var direct = true
    @Flag(help: "Every tunnel starts with a TLS ClientHello naming the CONNECT host (the sink skips it): for the TLS peek.") var tlsHello = false
    @Option(help: ArgumentHelp("Comma-separated scenarios (\(Suite.allScenarios.joined(separator: ","))); with --inspect-sink "
                               + "\(Suite.inspectScenarios.joined(separator: ",")), which are then the default"))
    var scenarios: String?
    @Option(help: "Folder for results.json and table.md.") var out: String?
    @Option(help: "KEY=VALUE recorded in the results (commit, date...).") var info: [String] = []
    @Option var reps: Int?
    @Option(help: "Bytes each way in the throughput tunnel, MiB.") var throughputMib: Int?
    @Option var setupSeconds: Double?
    @Option var setupClients: Int?
    @Option var pingPongs: Int?
    @Option var idleTunnels: Int?
    @Option var idleSeconds: Double?
    @Option var httpSeconds: Double?
    @Option var httpClients: Int?
    @Option var policySeconds: Double?
    @OptionGroup(title: "TLS inspection (issue 11)") var inspect: InspectOptions

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        guard let sinkEndpoint = Endpoint(sink), let originEndpoint = Endpoint(origin) else {
            throw ValidationError("--sink and --origin are IPv4 HOST:PORT")
        }
        var targets: [Target] = direct ? [Target(name: "direct", proxy: nil, pid: nil, targetHost: sinkEndpoint.host)] : []
        for text in proxy { targets.append(try Self.parseProxy(text)) }
        if tlsHello {
            for index in targets.indices {
                let host = targets[index].targetHost
                let isName = host.contains { $0.isLetter }
                targets[index].firstFlight = ClientHelloBytes.make(serverName: isName ? host : nil)
            }
        }
        var sizes = full ? Sizes.full : Sizes.quick
        if let reps { sizes.reps = max(1, reps) }
        if let throughputMib { sizes.throughputBytes = UInt64(throughputMib) << 20 }
        if let setupSeconds { sizes.setupSeconds = setupSeconds }
        if let setupClients { sizes.setupClients = setupClients }
        if let pingPongs { sizes.pingPongs = pingPongs }
        if let idleTunnels { sizes.idleTunnels = idleTunnels }
        if let idleSeconds { sizes.idleSeconds = idleSeconds }
        if let httpSeconds { sizes.httpSeconds = httpSeconds }
        if let httpClients { sizes.httpClients = httpClients }
        if let policySeconds { sizes.policySeconds = policySeconds }
        let inspectSetup = try inspect.setup(full: full)
        let defaultScenarios = inspectSetup == nil ? Suite.allScenarios : Suite.inspectScenarios
        let chosen = (scenarios ?? defaultScenarios.joined(separator: ",")).split(separator: ",").map(String.init)
        for name in chosen where !(Suite.allScenarios + Suite.inspectScenarios).contains(name) { throw ValidationError("unknown scenario \(name)") }
        if inspectSetup == nil, let name = chosen.first(where: Suite.inspectScenarios.contains) {
            throw ValidationError("\(name) needs --inspect-sink and the certificates (scripts/bench --inspect)")
        }

        var extra = Machine.describe()
        for item in info {
            guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--info wants KEY=VALUE") }
            extra[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        extra["mode"] = full ? "full" : "quick"
        if let inspectSetup { extra.merge(inspectSetup.describe()) { $1 } }
        let started = nowNanos()
        let suite = Suite(targets: targets, sink: sinkEndpoint, origin: originEndpoint, sizes: sizes, scenarios: chosen, inspect: inspectSetup)
        suite.run()
        extra["wall_seconds"] = String(format: "%.1f", Double(nowNanos() - started) / 1e9)

        var report = extra.keys.sorted().map { "- \($0): \(extra[$0]!)" }.joined(separator: "\n")
        report += "\n\n" + suite.table() + "\n\n" + suite.targetsTable() + "\n"
        if !suite.failures.isEmpty {
            report += "\nFailures:\n" + suite.failures.map { "- \($0)" }.joined(separator: "\n") + "\n"
        }
        print(report)
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try suite.json(extra: extra).write(to: URL(fileURLWithPath: out + "/results.json"))
            try report.write(toFile: out + "/table.md", atomically: true, encoding: .utf8)
            note("wrote \(out)/results.json and \(out)/table.md")
        }
    }

    static func parseProxy(_ text: String) throws -> Target {
        guard let equals = text.firstIndex(of: "=") else { throw ValidationError("--proxy wants NAME=HOST:PORT,...") }
        let name = String(text[..<equals])
        let parts = text[text.index(after: equals)...].split(separator: ",").map(String.init)
        guard let first = parts.first, let endpoint = Endpoint(first) else { throw ValidationError("bad proxy address in \(text)") }
        var pid: Int32?
        var host = "127.0.0.1"
        for part in parts.dropFirst() {
            if part.hasPrefix("pid=") { pid = Int32(part.dropFirst(4)) }
            else if part.hasPrefix("host=") { host = String(part.dropFirst(5)) }
            else { throw ValidationError("unknown proxy option \(part)") }
        }
        return Target(name: name, proxy: endpoint, pid: pid, targetHost: host)
    }
}

/// The machine, for the report: processors, CPU model, kernel, date.
enum Machine {
    static func describe() -> [String: String] {
        var result: [String: String] = ["nproc": String(sysconf(Int32(_SC_NPROCESSORS_ONLN)))]
        if let cpuinfo = ProcStat.readText("/proc/cpuinfo"),
           let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            result["cpu"] = String(line[line.index(after: colon)...]).trimmingCharacters(in: [" ", "\t"])
        }
        var names = utsname()
        uname(&names)
        result["kernel"] = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        result["date"] = ISO8601DateFormatter().string(from: Date())
        return result
    }
}

BenchCommand.main()
