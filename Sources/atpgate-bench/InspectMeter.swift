#if canImport(Glibc)
import Glibc
#endif

/// CPU over one inspect run, for each party: the proxy (when there is one), the TLS sink, this generator,
/// and the whole machine. On a shared 2-core machine these say where a run's limit is: with every core busy
/// the rate is CPU-bound, and the split says whose handshakes used it (the sink's share is what shows it is
/// not the bottleneck: its CPU per connection is the same whether a proxy is in front or not).
struct InspectMeter {
    private let proxyPid: Int32?
    private let sinkPid: Int32?
    private let proxy: Double?
    private let sink: Double?
    private let generator: Double?
    private let machine: (busy: Double, total: Double)?

    init(proxyPid: Int32?, sinkPid: Int32?) {
        self.proxyPid = proxyPid
        self.sinkPid = sinkPid
        proxy = proxyPid.flatMap(ProcStat.cpuSeconds)
        sink = sinkPid.flatMap(ProcStat.cpuSeconds)
        generator = ProcStat.cpuSeconds(getpid())
        machine = Self.machineTicks()
    }

    /// CPU seconds used since `init` by the proxy, the sink and the generator, and the machine's busy share
    /// of all its cores in percent; nil where a reading is missing.
    func read() -> (proxy: Double?, sink: Double?, generator: Double?, machineBusyPercent: Double?) {
        func used(_ pid: Int32?, _ before: Double?) -> Double? {
            guard let pid, let before, let after = ProcStat.cpuSeconds(pid) else { return nil }
            return after - before
        }
        var busy: Double?
        if let machine, let now = Self.machineTicks(), now.total > machine.total {
            busy = (now.busy - machine.busy) / (now.total - machine.total) * 100
        }
        return (used(proxyPid, proxy), used(sinkPid, sink), used(getpid(), generator), busy)
    }

    /// The first line of /proc/stat: "cpu user nice system idle iowait irq softirq steal ...", in ticks.
    /// Idle and iowait count as not busy; guest time is already inside user.
    private static func machineTicks() -> (busy: Double, total: Double)? {
        guard let text = ProcStat.readText("/proc/stat"), let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else {
            return nil
        }
        let fields = line.split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
        guard fields.count == 8 else { return nil }
        let idle = fields[3] + fields[4]
        let total = fields.reduce(0, +)
        return (total - idle, total)
    }
}
