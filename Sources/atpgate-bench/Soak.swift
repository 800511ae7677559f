#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Histogram

/// `atpgate-bench soak`: short tunnels through the proxy for a long time, paced, with a deliberate
/// mid-tunnel reset every so often, counting every tunnel that does not end exactly as it should.
/// The load of scripts/soak.
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Short CONNECT tunnels to the sink (R mode) at a paced rate, with deliberate resets; counts failures.",
        discussion: """
        Each tunnel: connect → CONNECT → 200 → `R n` and n request bytes (n varies, 64-1024) → n answer
        bytes, all checked → the sink's EOF → close. Once per 1/--resets-per-second seconds a tunnel is
        instead reset (SO_LINGER 0) after the 200 and half of its request. Anything else that goes wrong
        (no 200, wrong or missing bytes, a timeout, refused or reset) counts as failed.
        Prints a progress line every --report-every seconds and a final `soak summary:` line.
        Exit status 0 when no tunnel failed, 1 otherwise.
        """
    )

    @Option(help: "The proxy, IPv4 HOST:PORT.") var proxy: String
    @Option(help: "The sink (raw protocol), IPv4 HOST:PORT.") var target: String
    @Option(help: "The host asked for in CONNECT (default: the target's address).") var targetHost: String?
    @Option(help: "Client threads.") var clients: Int = 6
    @Option(help: "Tunnels per second in total (0: as fast as possible).") var rate: Double = 0
    @Option(help: "Seconds of load.") var seconds: Double = 60
    @Option(help: "Deliberate mid-tunnel resets per second (0: none).") var resetsPerSecond: Double = 1
    @Option(help: "Seconds between progress lines.") var reportEvery: Double = 10
    @Option(help: "Send and receive timeout of every socket, seconds.") var timeout: Int = 10
    @Option(help: "Stop early when this process (the proxy) is gone.") var pid: Int32?

    func validate() throws {
        guard Endpoint(proxy) != nil, Endpoint(target) != nil else { throw ValidationError("--proxy and --target are IPv4 HOST:PORT") }
        guard (1...1024).contains(clients) else { throw ValidationError("--clients is 1...1024") }
        guard rate >= 0, seconds > 0, resetsPerSecond >= 0, reportEvery > 0, timeout > 0 else {
            throw ValidationError("--rate and --resets-per-second are >= 0; --seconds, --report-every and --timeout are > 0")
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let proxyEndpoint = Endpoint(proxy)!
        let targetEndpoint = Endpoint(target)!
        let soak = Soak(proxy: proxyEndpoint, target: targetEndpoint,
                        authority: "\(targetHost ?? targetEndpoint.host):\(targetEndpoint.port)",
                        clients: clients, rate: rate, seconds: seconds, resetsPerSecond: resetsPerSecond,
                        reportEvery: reportEvery, timeout: timeout, watchedPid: pid)
        let summary = soak.run()
        if summary.failed > 0 { throw ExitCode(1) }
    }
}

/// The soak load itself: `clients` threads take numbered slots from a shared schedule (slot k is
/// due at start + k / rate), so the total rate holds whatever each tunnel takes; the main thread
/// reports and watches the proxy.
final class Soak: @unchecked Sendable {
    struct Summary {
        var seconds: Double
        var ok: Int
        var failed: Int
        var resets: Int
        var stopped: String
    }

    /// The answer the sink sends in `R n` mode: n bytes of this value.
    static let answerByte: UInt8 = 0x5A
    static let minPayload = 64
    static let maxPayload = 1024

    private struct Schedule {
        var nextDue: UInt64
        var nextReset: UInt64
        var stop = false
        var skippedSlots = 0
    }

    private struct Totals {
        var ok = 0
        var failed = 0
        var resets = 0
        var failuresShown = 0
        var firstFailure: (seconds: Double, text: String)?
        var lastFailure = ""
        var interval = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .two)
    }

    let proxy: Endpoint
    let target: Endpoint
    let authority: String
    let clients: Int
    let rate: Double
    let seconds: Double
    let resetsPerSecond: Double
    let reportEvery: Double
    let timeout: Int
    let watchedPid: Int32?

    private let connectRequest: [UInt8]
    private let start: UInt64
    private let end: UInt64
    private let schedule: Shared<Schedule>
    private let totals = Shared(Totals())

    init(proxy: Endpoint, target: Endpoint, authority: String, clients: Int, rate: Double, seconds: Double,
         resetsPerSecond: Double, reportEvery: Double, timeout: Int, watchedPid: Int32?) {
        self.proxy = proxy
        self.target = target
        self.authority = authority
        self.clients = clients
        self.rate = rate
        self.seconds = seconds
        self.resetsPerSecond = resetsPerSecond
        self.reportEvery = reportEvery
        self.timeout = timeout
        self.watchedPid = watchedPid
        connectRequest = Array("CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: atpgate-bench soak\r\n\r\n".utf8)
        start = nowNanos()
        end = start + UInt64(seconds * 1e9)
        let resetPeriod = resetsPerSecond > 0 ? UInt64(1e9 / resetsPerSecond) : UInt64.max / 2
        schedule = Shared(Schedule(nextDue: start, nextReset: start + resetPeriod))
    }

    private var elapsed: Double { Double(nowNanos() - start) / 1e9 }

    func run() -> Summary {
        print(String(format: "soak: %d clients, rate %@, %.0f s, %@ resets/s, proxy %@, target %@ (%@)",
                     clients, rate > 0 ? String(format: "%.0f/s", rate) : "as fast as possible", seconds,
                     String(format: "%g", resetsPerSecond), proxy.description, target.description, authority))
        flushStdout()
        let threads = (0..<clients).map { index in
            JoinableThread { [self] in client(seed: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15 ^ start) }
        }
        var stopped = "time"
        var nextReport = start + UInt64(reportEvery * 1e9)
        var lastOk = 0
        var lastReport = start
        // Bounded: the loop ends at `end` (or earlier when the proxy is gone).
        while nowNanos() < end {
            usleep(100_000)
            if let watchedPid, !Self.alive(watchedPid) {
                stopped = "proxy-gone"
                break
            }
            let now = nowNanos()
            if now >= nextReport {
                lastOk = report(now: now, since: lastReport, lastOk: lastOk)
                lastReport = now
                nextReport += UInt64(reportEvery * 1e9)
            }
        }
        schedule.with { $0.stop = true }
        threads.forEach { $0.join() }   // each tunnel is bounded by the socket timeouts
        let duration = elapsed
        let done = totals.with { $0 }
        let skipped = schedule.with { $0.skippedSlots }
        if stopped == "proxy-gone" {
            note(String(format: "the proxy (pid %d) is gone after %.1f s", watchedPid ?? 0, duration))
        }
        if let first = done.firstFailure {
            note(String(format: "first failure at %.1f s: %@; last: %@", first.seconds, first.text, done.lastFailure))
        }
        if skipped > 0 {
            note("\(skipped) scheduled tunnels were dropped because the clients fell more than 1 s behind the rate")
        }
        let summary = Summary(seconds: duration, ok: done.ok, failed: done.failed, resets: done.resets, stopped: stopped)
        print(String(format: "soak summary: %.1f s, tunnels ok %d, failed %d, deliberate resets %d, %.0f tunnels/s, stopped: %@",
                     duration, done.ok, done.failed, done.resets, Double(done.ok + done.resets) / max(duration, 0.001), stopped))
        print(String(format: "SOAK-RESULT seconds=%.1f ok=%d failed=%d resets=%d rate=%.0f stopped=%@ first_failure_s=%@",
                     duration, done.ok, done.failed, done.resets, Double(done.ok + done.resets) / max(duration, 0.001), stopped,
                     done.firstFailure.map { String(format: "%.1f", $0.seconds) } ?? "-"))
        flushStdout()
        return summary
    }

    /// One progress line; returns the ok count it reported.
    private func report(now: UInt64, since: UInt64, lastOk: Int) -> Int {
        let snapshot = totals.with { totals -> (Int, Int, Int, Histogram<UInt64>) in
            let histogram = totals.interval
            totals.interval.reset()
            return (totals.ok, totals.failed, totals.resets, histogram)
        }
        let (ok, failed, resets, histogram) = snapshot
        let interval = Double(now - since) / 1e9
        let latency = histogram.totalCount > 0
            ? String(format: "tunnel p50 %.2f ms, p99 %.2f ms, max %.1f ms",
                     Double(histogram.valueAtPercentile(50)) / 1000, Double(histogram.valueAtPercentile(99)) / 1000,
                     Double(histogram.max) / 1000)
            : "no tunnel completed"
        print(String(format: "soak %6.0f s: ok %d (%.0f/s), failed %d, deliberate resets %d, %@",
                     Double(now - start) / 1e9, ok, Double(ok - lastOk) / max(interval, 0.001), failed, resets, latency))
        flushStdout()
        return ok
    }

    // MARK: Client threads

    /// The next slot: when it is due and whether it is the deliberate reset; nil when stopping.
    private func take() -> (due: UInt64, reset: Bool)? {
        schedule.with { schedule in
            let now = nowNanos()
            guard !schedule.stop, now < end else { return nil }
            var due = now
            if rate > 0 {
                let interval = UInt64(1e9 / rate)
                // More than a second behind: drop the backlog rather than burst to catch up.
                if schedule.nextDue + 1_000_000_000 < now {
                    schedule.skippedSlots += Int((now - schedule.nextDue) / max(interval, 1))
                    schedule.nextDue = now
                }
                due = schedule.nextDue
                schedule.nextDue += interval
            }
            var reset = false
            if resetsPerSecond > 0 && max(due, now) >= schedule.nextReset {
                reset = true
                let period = UInt64(1e9 / resetsPerSecond)
                schedule.nextReset += period
                if schedule.nextReset < now { schedule.nextReset = now + period }
            }
            return (due, reset)
        }
    }

    private func client(seed: UInt64) {
        var random = seed | 1
        var buffer = [UInt8](repeating: 0, count: 16384)
        let request = [UInt8](repeating: 0x71, count: Self.maxPayload)
        while let slot = take() {
            // Wait for the slot, in short naps so a stop is seen promptly.
            var now = nowNanos()
            while now < slot.due {
                if now >= end { return }
                usleep(useconds_t(min((slot.due - now) / 1000, 50_000)))
                now = nowNanos()
            }
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            let payload = Self.minPayload + Int(random % UInt64(Self.maxPayload - Self.minPayload + 1))
            let begin = nowNanos()
            let outcome = tunnel(payload: payload, reset: slot.reset, request: request, buffer: &buffer)
            let micros = (nowNanos() - begin) / 1000
            totals.with { totals in
                switch outcome {
                case .ok:
                    totals.ok += 1
                    _ = totals.interval.record(min(micros, 120_000_000))
                case .reset:
                    totals.resets += 1
                case .failed(let text):
                    totals.failed += 1
                    totals.lastFailure = text
                    if totals.firstFailure == nil { totals.firstFailure = (elapsed, text) }
                    if totals.failuresShown < 20 {
                        totals.failuresShown += 1
                        note(String(format: "soak: tunnel failed at %.1f s: %@", elapsed, text))
                    }
                }
            }
            if case .failed = outcome { usleep(10_000) }   // no hot loop against a dead proxy
        }
    }

    private enum Outcome {
        case ok
        case reset
        case failed(String)
    }

    /// One tunnel, every step checked. The sink answers and closes first, so the client's
    /// ephemeral ports leave no TIME_WAIT behind; a deliberate reset leaves none either.
    private func tunnel(payload: Int, reset: Bool, request: [UInt8], buffer: inout [UInt8]) -> Outcome {
        let fd: Int32
        do {
            fd = try Sock.connect(proxy, timeoutSeconds: timeout)
        } catch {
            return .failed("\(error)")
        }
        var closed = false
        defer { if !closed { close(fd) } }
        do throws(BenchError) {
            try Sock.writeAll(fd, connectRequest)
            var held = 0   // bytes in `buffer`
            let headEnd = try readHead(fd, &buffer, &held)
            let head = Array(buffer[0..<headEnd])
            guard statusCode(head) == 200 else {
                throw .proto("CONNECT answered '\(String(decoding: head.prefix { $0 != 13 }, as: UTF8.self))'")
            }
            guard held == headEnd else { throw .proto("\(held - headEnd) bytes after the 200 before the request") }
            let header = SinkMode.header(.request, UInt64(payload))
            if reset {
                // Half of the request, then a reset in the middle of the tunnel.
                try Sock.writeAll(fd, header + request[0..<(payload / 2)])
                Sock.closeReset(fd)
                closed = true
                return .reset
            }
            try Sock.writeAll(fd, header + request[0..<payload])
            try readAnswer(fd, &buffer, expected: payload)
            return .ok
        } catch {
            return .failed("\(error)")
        }
    }

    /// Reads until CRLFCRLF; returns the head's length. Bytes after it stay in `buffer[..<held]`.
    private func readHead(_ fd: Int32, _ buffer: inout [UInt8], _ held: inout Int) throws(BenchError) -> Int {
        while true {
            let n = try receive(fd, &buffer, at: held)
            if n == 0 { throw .proto("EOF before the CONNECT answer") }
            let from = max(0, held - 3)
            held += n
            if held >= 4 {
                for index in from...(held - 4)
                where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                    return index + 4
                }
            }
            guard held < buffer.count else { throw .proto("CONNECT answer head too large") }
        }
    }

    /// Exactly `expected` bytes of the sink's answer, then EOF.
    private func readAnswer(_ fd: Int32, _ buffer: inout [UInt8], expected: Int) throws(BenchError) {
        var got = 0
        while true {
            let n = try receive(fd, &buffer, at: 0)
            if n == 0 { break }
            for index in 0..<n where buffer[index] != Self.answerByte {
                throw .proto("wrong byte 0x\(String(buffer[index], radix: 16)) at offset \(got + index) of the answer")
            }
            got += n
            guard got <= expected else { throw .proto("answer longer than \(expected) bytes (\(got) so far)") }
        }
        guard got == expected else { throw .proto("EOF after \(got) of \(expected) answer bytes") }
    }

    private func receive(_ fd: Int32, _ buffer: inout [UInt8], at offset: Int) throws(BenchError) -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress! + offset, raw.count - offset, 0) }
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .sys(errno == EAGAIN ? "read timed out" : "read")
        }
    }

    // MARK: Helpers

    /// The process exists and is not a zombie.
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = ProcStat.readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].dropFirst().first
        return state != "Z" && state != "X"
    }

    private func flushStdout() {
        fflush(nil)   // every output stream: progress lines reach a pipe or file at once
    }
}
