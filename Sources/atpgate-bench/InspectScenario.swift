#if canImport(Glibc)
import Glibc
#endif
import Histogram

/// The inspect scenarios (issue 11) against one target: direct to the TLS sink with the certificate it
/// accepts, or through a proxy that inspects (CONNECT, then the same handshake with the sensor's
/// certificate, which the proxy verifies and maps to the sink's certificate on its own handshake upstream).
/// Every connection makes a fresh `SSL` from a context without tickets or a session cache: a full mutual-TLS
/// handshake on each leg, every time.
struct InspectScenarios: Sendable {
    let target: Target
    let setup: InspectSetup

    private var context: TLSBenchContext { target.isDirect ? setup.direct : setup.inspected }
    private var authority: String { "\(setup.host):\(setup.sink.port)" }

    /// TCP connect (to the proxy, then CONNECT and its 200; or to the sink) and the TLS handshake.
    func open() throws(BenchError) -> (Int32, TLSBenchConnection) {
        let fd = try Sock.connect(target.proxy ?? setup.sink)
        do throws(BenchError) {
            // Each leg's flights are small writes the other side waits for; with Nagle the request behind the
            // client's Finished would wait for a delayed ACK.
            Sock.setNoDelay(fd)
            if target.proxy != nil {
                try Sock.writeAll(fd, "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n")
                let reader = Reader(fd: fd, capacity: 4096)
                let head = try reader.readHead()
                guard statusCode(head) == 200 else {
                    throw BenchError.proto("CONNECT answered '\(String(decoding: head.prefix { $0 != 13 }, as: UTF8.self))'")
                }
                // The proxy says nothing more before the client's hello; anything here would be lost to TLS.
                guard reader.buffered == 0 else { throw BenchError.proto("bytes after the CONNECT answer") }
            }
            let connection = try TLSBenchConnection(context: context, fd: fd)
            try connection.connect(host: setup.host)
            return (fd, connection)
        } catch {
            close(fd)
            throw error
        }
    }

    /// GET `path` with `Connection: close`; reads the 200's body and then the server's close. Returns the
    /// body's length.
    func get(_ connection: TLSBenchConnection, path: String) throws(BenchError) -> UInt64 {
        try connection.write(Array("GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: atpgate-bench\r\nConnection: close\r\n\r\n".utf8))
        let head = try connection.readHead()
        guard statusCode(head) == 200 else {
            throw .proto("GET \(path) answered '\(String(decoding: head.prefix { $0 != 13 }, as: UTF8.self))'")
        }
        guard let length = headerValue(head, "content-length").flatMap({ UInt64($0) }) else { throw .proto("response without Content-Length") }
        try connection.skip(length)
        let extra = try connection.readToClose()
        guard extra == 0 else { throw .proto("\(extra) bytes after the response body") }
        return length
    }

    // MARK: inspect-rate

    /// `clients` threads, each in a loop for `seconds`: connect → (CONNECT → 200) → mutual-TLS handshake →
    /// GET /small (1 KiB) → the server's close → close. Latency is the whole connection, connect to close.
    func rate(seconds: Double, clients: Int) throws(BenchError) -> Figures {
        let merged = Shared(Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three))
        let totals = Shared((done: 0, errors: 0, lastError: "", negotiated: ""))
        let meter = InspectMeter(proxyPid: target.pid, sinkPid: setup.sinkPid)
        let start = nowNanos()
        let end = start + UInt64(seconds * 1e9)
        let threads = (0..<clients).map { _ in
            JoinableThread {
                var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                var done = 0, errors = 0
                var lastError = "", negotiated = ""
                while nowNanos() < end && errors < 1000 {
                    let begin = nowNanos()
                    do throws(BenchError) {
                        let (fd, connection) = try open()
                        defer { close(fd) }
                        if negotiated.isEmpty { negotiated = connection.negotiated }
                        let length = try get(connection, path: "/small")
                        guard length == UInt64(TLSBenchServer.smallBytes) else { throw BenchError.proto("/small was \(length) bytes") }
                        _ = histogram.record((nowNanos() - begin) / 1000)
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
                    if $0.negotiated.isEmpty { $0.negotiated = negotiated }
                }
            }
        }
        threads.forEach { $0.join() }
        let elapsed = Double(nowNanos() - start) / 1e9
        let cpu = meter.read()
        let histogram = merged.with { $0 }
        let total = totals.with { $0 }
        if total.errors > 0 { note("\(target.name) inspect-rate: \(total.errors) errors, last: \(total.lastError)") }
        guard total.done > 0 else { throw .proto("no connection completed (\(total.errors) errors, last: \(total.lastError))") }
        note("\(target.name) inspect-rate: \(total.negotiated) (the client's leg)")
        let connections = Double(total.done)
        var figures: Figures = [
            "connections_per_s": connections / elapsed,
            "connections": connections,
            "errors": Double(total.errors),
            "p50_ms": Double(histogram.valueAtPercentile(50)) / 1000,
            "p99_ms": Double(histogram.valueAtPercentile(99)) / 1000,
            "p999_ms": Double(histogram.valueAtPercentile(99.9)) / 1000,
        ]
        if let proxy = cpu.proxy { figures["cpu_us_per_connection"] = proxy / connections * 1e6 }
        if let sink = cpu.sink { figures["sink_cpu_us_per_connection"] = sink / connections * 1e6 }
        if let generator = cpu.generator { figures["generator_cpu_us_per_connection"] = generator / connections * 1e6 }
        if let busy = cpu.machineBusyPercent { figures["machine_busy_percent"] = busy }
        return figures
    }

    // MARK: inspect-throughput

    /// One connection, GET /bytes/N: MB/s (10^6 bytes) from the request to the last byte, and CPU per GiB
    /// carried (one direction: the download).
    func throughput(bytes: UInt64) throws(BenchError) -> Figures {
        let (fd, connection) = try open()
        defer { close(fd) }
        let meter = InspectMeter(proxyPid: target.pid, sinkPid: setup.sinkPid)
        let start = nowNanos()
        let length = try get(connection, path: "/bytes/\(bytes)")
        let elapsed = Double(nowNanos() - start) / 1e9
        let cpu = meter.read()
        guard length == bytes else { throw .proto("/bytes/\(bytes) was \(length) bytes") }
        let gibibytes = Double(bytes) / 1_073_741_824
        var figures: Figures = ["mbps": Double(bytes) / elapsed / 1e6, "seconds": elapsed]
        if let proxy = cpu.proxy { figures["cpu_s_per_gib"] = proxy / gibibytes }
        if let sink = cpu.sink { figures["sink_cpu_s_per_gib"] = sink / gibibytes }
        if let generator = cpu.generator { figures["generator_cpu_s_per_gib"] = generator / gibibytes }
        if let busy = cpu.machineBusyPercent { figures["machine_busy_percent"] = busy }
        return figures
    }
}
