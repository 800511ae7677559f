#if canImport(Glibc)
import Glibc
#endif
import Histogram

/// One side of the comparison: the direct path (no proxy) or a proxy with its process id.
struct Target: Sendable {
    let name: String
    /// nil for the direct path.
    let proxy: Endpoint?
    let pid: Int32?
    /// The host the proxy is asked for (CONNECT authority, absolute URL): a `hosts:` name
    /// for atpgate, the IP literal for peers that would otherwise resolve it.
    let targetHost: String
    /// Sent first in every tunnel (`--tls-hello`): a ClientHello naming `targetHost`.
    var firstFlight: [UInt8] = []

    var isDirect: Bool { proxy == nil }
}

/// Every scenario returns named figures; the suite takes medians across repetitions.
typealias Figures = [String: Double]

/// The client side of the scenarios: blocking sockets on plain threads.
struct Scenarios: Sendable {
    let target: Target
    let sink: Endpoint
    let origin: Endpoint

    /// A tunnel to the sink: through the proxy with CONNECT, or a plain connection.
    func openTunnel() throws(BenchError) -> (Int32, Reader) {
        guard let proxy = target.proxy else {
            let fd = try Sock.connect(sink)
            if !target.firstFlight.isEmpty {
                Sock.setNoDelay(fd)
                do throws(BenchError) { try Sock.writeAll(fd, target.firstFlight) } catch { close(fd); throw error }
            }
            return (fd, Reader(fd: fd))
        }
        let fd = try Sock.connect(proxy)
        let authority = "\(target.targetHost):\(sink.port)"
        do throws(BenchError) {
            try Sock.writeAll(fd, "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n")
            let reader = Reader(fd: fd)
            let head = try reader.readHead()
            guard statusCode(head) == 200 else {
                let line = String(decoding: head.prefix { $0 != 13 }, as: UTF8.self)
                throw BenchError.proto("CONNECT answered '\(line)'")
            }
            if !target.firstFlight.isEmpty {
                // The hello and the scenario's own first write go out as separate small writes: without
                // TCP_NODELAY the second would wait for the delayed ACK of the first (40 ms on Linux).
                Sock.setNoDelay(fd)
                try Sock.writeAll(fd, target.firstFlight)
            }
            return (fd, reader)
        } catch {
            close(fd)
            throw error
        }
    }

    // MARK: 1. Tunnel throughput

    /// One tunnel, `bytes` each way at the same time. GB/s is per direction (10^9 bytes);
    /// proxy CPU is per GiB relayed, counting both directions.
    func throughput(bytes: UInt64) throws(BenchError) -> Figures {
        let (fd, reader) = try openTunnel()
        defer { close(fd) }
        let cpuBefore = target.pid.flatMap(ProcStat.cpuSeconds)
        let start = nowNanos()
        try Sock.writeAll(fd, SinkMode.header(.throughput, bytes))
        let writeFailure = Shared<String?>(nil)
        let writer = JoinableThread {
            let chunk = [UInt8](repeating: 0x42, count: 256 * 1024)
            var left = bytes
            while left > 0 {
                let size = Int(min(left, UInt64(chunk.count)))
                let result = chunk.withUnsafeBytes { raw in
                    Result { () throws(BenchError) in try Sock.writeAll(fd, raw.baseAddress!, size) }
                }
                if case .failure(let error) = result {
                    writeFailure.with { $0 = "\(error)" }
                    return
                }
                left -= UInt64(size)
            }
        }
        do {
            try reader.skip(Int(bytes))
        } catch {
            shutdown(fd, Int32(SHUT_RDWR))
            writer.join()
            throw error
        }
        writer.join()
        let elapsed = Double(nowNanos() - start) / 1e9
        if let failure = writeFailure.with({ $0 }) { throw .proto("throughput writer: \(failure)") }
        var figures: Figures = ["gbps": Double(bytes) / elapsed / 1e9, "seconds": elapsed]
        if let cpuBefore, let pid = target.pid, let cpuAfter = ProcStat.cpuSeconds(pid) {
            figures["cpu_seconds"] = cpuAfter - cpuBefore
            figures["cpu_s_per_gib"] = (cpuAfter - cpuBefore) / (Double(2 * bytes) / 1_073_741_824)
        }
        return figures
    }

    // MARK: 2. Tunnel setup rate

    /// `clients` threads, each: connect, CONNECT, 200, `payload`-byte request and response,
    /// close; for `seconds`. Latency is connect → 200 (direct: the TCP connect), or with `toLastByte`
    /// connect → the last byte of the response and the upstream's close (a whole short tunnel: the
    /// "short" scenarios).
    func setupRate(seconds: Double, clients: Int, payload: Int, toLastByte: Bool = false) throws(BenchError) -> Figures {
        let merged = Shared(Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three))
        let totals = Shared((done: 0, errors: 0, lastError: ""))
        let start = nowNanos()
        let end = start + UInt64(seconds * 1e9)
        let cpuBefore = target.pid.flatMap(ProcStat.cpuSeconds)
        let request = SinkMode.header(.request, UInt64(payload)) + [UInt8](repeating: 0x71, count: payload)
        let threads = (0..<clients).map { _ in
            JoinableThread {
                var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                var done = 0
                var errors = 0
                var lastError = ""
                while nowNanos() < end && errors < 1000 {
                    let begin = nowNanos()
                    do {
                        let (fd, reader) = try openTunnel()
                        if !toLastByte { _ = histogram.record((nowNanos() - begin) / 1000) }
                        defer { close(fd) }
                        try Sock.writeAll(fd, request)
                        try reader.skip(payload)
                        _ = try reader.drainToEOF(limit: 0)
                        if toLastByte { _ = histogram.record((nowNanos() - begin) / 1000) }
                        done += 1
                    } catch {
                        errors += 1
                        lastError = "\(error)"
                        usleep(1000)
                    }
                }
                let local = histogram
                merged.with { $0.add(local) }
                totals.with {
                    $0.done += done
                    $0.errors += errors
                    if !lastError.isEmpty { $0.lastError = lastError }
                }
            }
        }
        threads.forEach { $0.join() }
        let elapsed = Double(nowNanos() - start) / 1e9
        let histogram = merged.with { $0 }
        let total = totals.with { $0 }
        if total.errors > 0 { note("\(target.name) setup: \(total.errors) errors, last: \(total.lastError)") }
        guard total.done > 0 else { throw .proto("no tunnel completed (\(total.errors) errors, last: \(total.lastError))") }
        var figures: Figures = [
            "tunnels_per_s": Double(total.done) / elapsed,
            "tunnels": Double(total.done),
            "errors": Double(total.errors),
            "p50_ms": Double(histogram.valueAtPercentile(50)) / 1000,
            "p99_ms": Double(histogram.valueAtPercentile(99)) / 1000,
            "p999_ms": Double(histogram.valueAtPercentile(99.9)) / 1000,
        ]
        if let cpuBefore, let pid = target.pid, let cpuAfter = ProcStat.cpuSeconds(pid) {
            figures["cpu_us_per_tunnel"] = (cpuAfter - cpuBefore) / Double(total.done) * 1e6
        }
        return figures
    }

    // MARK: 3. Small-message latency

    /// 1-byte ping-pong inside one open tunnel (TCP_NODELAY on the client; the sink sets it too).
    func pingPong(count: Int) throws(BenchError) -> Figures {
        let (fd, reader) = try openTunnel()
        defer { close(fd) }
        Sock.setNoDelay(fd)
        try Sock.writeAll(fd, SinkMode.header(.echo, 0))
        var byte: UInt8 = 0x70
        var histogram = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        let warmUp = min(200, count / 10)
        for index in 0..<(warmUp + count) {
            let begin = nowNanos()
            try Sock.writeAll(fd, &byte, 1)
            try reader.skip(1)
            if index >= warmUp { _ = histogram.record(nowNanos() - begin) }
        }
        return [
            "p50_us": Double(histogram.valueAtPercentile(50)) / 1000,
            "p99_us": Double(histogram.valueAtPercentile(99)) / 1000,
            "p999_us": Double(histogram.valueAtPercentile(99.9)) / 1000,
        ]
    }

    // MARK: 4. Idle tunnels

    /// Opens `count` tunnels (each proves itself with a 1-byte echo), then reads the proxy's
    /// RSS increase and its CPU while idle for `idleSeconds`. Tunnels are closed with RST
    /// (no TIME_WAIT), then the proxy is given time to let go of its descriptors.
    func idleTunnels(count: Int, idleSeconds: Double) throws(BenchError) -> Figures {
        guard let pid = target.pid else { throw .proto("idle tunnels need a proxy") }
        let baselineDescriptors = ProcStat.openDescriptors(pid) ?? 0
        sleepSeconds(0.3)
        guard let rssBefore = ProcStat.rssKiB(pid) else { throw .proto("cannot read /proc/\(pid)/status") }
        var fds: [Int32] = []
        fds.reserveCapacity(count)
        let openStart = nowNanos()
        let openDeadline = openStart + 120_000_000_000
        var failure: String?
        for _ in 0..<count where nowNanos() < openDeadline {
            do {
                let (fd, reader) = try openTunnel()
                fds.append(fd)
                var probe = SinkMode.header(.echo, 0) + [0x69]
                try Sock.writeAll(fd, &probe, probe.count)
                try reader.skip(1)
            } catch {
                failure = "\(target.name): idle tunnel \(fds.count + 1) failed: \(error)"
                break
            }
        }
        let openSeconds = Double(nowNanos() - openStart) / 1e9
        sleepSeconds(1)
        let rssAfter = ProcStat.rssKiB(pid) ?? rssBefore
        let cpuBefore = ProcStat.cpuSeconds(pid) ?? 0
        sleepSeconds(idleSeconds)
        let cpuAfter = ProcStat.cpuSeconds(pid) ?? cpuBefore
        for fd in fds { Sock.closeReset(fd) }
        let drainDeadline = nowNanos() + 20_000_000_000
        while nowNanos() < drainDeadline, (ProcStat.openDescriptors(pid) ?? 0) > baselineDescriptors + 32 {
            sleepSeconds(0.1)
        }
        if let failure { note(failure) }
        let opened = Double(max(1, fds.count))
        return [
            "tunnels": Double(fds.count),
            "rss_kib_per_tunnel": (rssAfter - rssBefore) / opened,
            "rss_before_mib": rssBefore / 1024,
            "rss_after_mib": rssAfter / 1024,
            "idle_cpu_percent": (cpuAfter - cpuBefore) / idleSeconds * 100,
            "open_seconds": openSeconds,
        ]
    }

    // MARK: 5. Plain HTTP forward

    /// `clients` keep-alive connections, each GETting the origin's object in a loop for `seconds`.
    /// A connection the proxy closes is reopened (counted in connections per request).
    func httpForward(seconds: Double, clients: Int) throws(BenchError) -> Figures {
        let merged = Shared(Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three))
        let totals = Shared((done: 0, errors: 0, connections: 0, lastError: ""))
        let authority = "\(target.isDirect ? origin.host : target.targetHost):\(origin.port)"
        let path = target.isDirect ? "/object" : "http://\(authority)/object"
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: atpgate-bench\r\n\r\n".utf8)
        let server = target.proxy ?? origin
        let cpuBefore = target.pid.flatMap(ProcStat.cpuSeconds)
        let start = nowNanos()
        let end = start + UInt64(seconds * 1e9)
        let threads = (0..<clients).map { _ in
            JoinableThread {
                var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                var done = 0, errors = 0, connections = 0
                var lastError = ""
                var open: (Int32, Reader)?
                var onConnection = 0
                while nowNanos() < end && errors < 1000 {
                    do {
                        if open == nil {
                            let fd = try Sock.connect(server)
                            open = (fd, Reader(fd: fd))
                            connections += 1
                            onConnection = 0
                        }
                        let (fd, reader) = open!
                        let begin = nowNanos()
                        try Sock.writeAll(fd, request)
                        let head = try reader.readHead()
                        guard statusCode(head) == 200 else {
                            throw BenchError.proto("GET answered '\(String(decoding: head.prefix { $0 != 13 }, as: UTF8.self))'")
                        }
                        guard let length = headerValue(head, "content-length").flatMap({ Int($0) }) else {
                            throw BenchError.proto("response without Content-Length")
                        }
                        try reader.skip(length)
                        _ = histogram.record((nowNanos() - begin) / 1000)
                        done += 1
                        onConnection += 1
                        let connection = headerValue(head, "connection")
                        let http10 = head.starts(with: Array("HTTP/1.0".utf8))
                        if connection == "close" || (http10 && connection != "keep-alive") {
                            _ = try? reader.drainToEOF(limit: 0)   // let the proxy close first
                            close(fd)
                            open = nil
                        }
                    } catch {
                        // A keep-alive connection the proxy closed between responses without
                        // saying so (tinyproxy) is reopened, not counted as an error.
                        let closedBetween = onConnection > 0 && "\(error)" == BenchError.eofBeforeHead
                        if !closedBetween {
                            errors += 1
                            lastError = "\(error)"
                            usleep(1000)
                        }
                        if let (fd, _) = open { close(fd) }
                        open = nil
                    }
                }
                if let (fd, _) = open { close(fd) }
                let local = histogram
                merged.with { $0.add(local) }
                totals.with {
                    $0.done += done
                    $0.errors += errors
                    $0.connections += connections
                    if !lastError.isEmpty { $0.lastError = lastError }
                }
            }
        }
        threads.forEach { $0.join() }
        let elapsed = Double(nowNanos() - start) / 1e9
        let histogram = merged.with { $0 }
        let total = totals.with { $0 }
        if total.errors > 0 { note("\(target.name) http: \(total.errors) errors, last: \(total.lastError)") }
        guard total.done > 0 else { throw .proto("no request completed (\(total.errors) errors, last: \(total.lastError))") }
        var figures: Figures = [
            "requests_per_s": Double(total.done) / elapsed,
            "requests": Double(total.done),
            "errors": Double(total.errors),
            "connections_per_request": Double(total.connections) / Double(max(1, total.done)),
            "p50_ms": Double(histogram.valueAtPercentile(50)) / 1000,
            "p99_ms": Double(histogram.valueAtPercentile(99)) / 1000,
        ]
        if let cpuBefore, let pid = target.pid, let cpuAfter = ProcStat.cpuSeconds(pid) {
            figures["cpu_us_per_request"] = (cpuAfter - cpuBefore) / Double(total.done) * 1e6
        }
        return figures
    }
}

/// Diagnostics on stderr (the table goes to stdout).
func note(_ text: String) {
    var line = "atpgate-bench: " + text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress!, $0.count) }
}
