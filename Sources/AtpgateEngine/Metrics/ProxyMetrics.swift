#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import CoreMetrics
import Prometheus
import AtpgateIO

/// atpgate's metrics (issue 12), exported in Prometheus's text format by swift-prometheus.
///
/// Two kinds of series. What happens per request or per byte is counted in each loop's `LoopCounters`
/// (plain integers on the loop's queue) and folded into the registry's counters only when someone
/// scrapes: the data path never takes a lock or touches a shared atomic. What happens rarely (a DNS
/// answer, a dial, a reload) is recorded as it happens through swift-metrics (`Timer`, `Counter`,
/// `Gauge`) on a factory bound to this server's own registry, so two servers in one process (tests)
/// never share series and nothing global is bootstrapped.
///
/// Every family is registered at start-up, with every label value, so a scrape shows zeros rather than
/// missing series.
public final class ProxyMetrics: @unchecked Sendable {   // `folded` and `exported` are guarded by `scrapeLock`
    public let registry = PrometheusCollectorRegistry()
    private let loops: [IOLoop]
    private let counters: [ObjectIdentifier: LoopCounters]

    let dnsSeconds: CoreMetrics.Timer
    let upstreamConnectSeconds: CoreMetrics.Timer
    private let reloadSucceeded: CoreMetrics.Counter
    private let reloadFailed: CoreMetrics.Counter
    private let policyLoaded: CoreMetrics.Recorder

    private let requests: [Prometheus.Counter]
    private let denials: [Prometheus.Counter]
    private let bytes: [Prometheus.Counter]
    private let peeks: [Prometheus.Counter]
    /// nil where the result cannot happen on the leg (no series for it).
    private let handshakes: [Prometheus.Counter?]
    private let activeTunnels: Prometheus.Gauge
    private let accessLogDropped: Prometheus.Counter

    private let scrapeLock = Locked<Void>(())
    /// What each folded counter has been advanced to: a scrape adds only the difference.
    private nonisolated(unsafe) var exported = CounterSnapshot()
    private nonisolated(unsafe) var exportedDropped = 0

    /// Seconds: DNS answers and loopback dials take well under a millisecond, a far cloud region a few
    /// hundred; timeouts end at tens of seconds.
    static let secondsBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }

    init(loops: [IOLoop]) {
        self.loops = loops
        var counters: [ObjectIdentifier: LoopCounters] = [:]
        for loop in loops { counters[ObjectIdentifier(loop)] = LoopCounters() }
        self.counters = counters

        func family(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        let registry = self.registry
        // The swift-metrics handles below wrap series made on this registry with their help text (a
        // factory would make them without: swift-prometheus then refuses the same family with help).
        let factory = PrometheusMetricsFactory(registry: registry)
        func timer(_ name: String, _ help: String) -> CoreMetrics.Timer {
            let histogram = registry.makeDurationHistogram(descriptor: family(name, help), labels: [], buckets: Self.secondsBuckets)
            return CoreMetrics.Timer(label: name, dimensions: [], handler: histogram, factory: factory)
        }
        dnsSeconds = timer("atpgate_dns_seconds", "Time from asking the resolver to its answer (names not in hosts).")
        upstreamConnectSeconds = timer("atpgate_upstream_connect_seconds", "Time to connect to the upstream (successful dials).")
        let reloads = family("atpgate_policy_reloads_total", "Policy reloads (file change or SIGHUP) by result.")
        func reloadCounter(_ result: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: reloads.name, dimensions: [("result", result)],
                                handler: registry.makeCounter(descriptor: reloads, labels: [("result", result)]), factory: factory)
        }
        reloadSucceeded = reloadCounter("success")
        reloadFailed = reloadCounter("failure")
        let loaded = family("atpgate_policy_loaded_timestamp_seconds", "When the policy in force was loaded (Unix time).")
        policyLoaded = CoreMetrics.Recorder(label: loaded.name, dimensions: [], aggregate: false,
                                            handler: registry.makeGauge(descriptor: loaded), factory: factory)
        let requestsName = family("atpgate_requests_total", "Requests by kind (connect, http, inner) and access-log decision.")
        requests = RequestKindLabel.ordered.flatMap { kind in
            DecisionLabel.ordered.map { decision in
                registry.makeCounter(descriptor: requestsName, labels: [("kind", kind.rawValue), ("decision", decision.rawValue)])
            }
        }
        let denialsName = family("atpgate_denials_total", "Refusals by the token of the answer (policy, TLS checks, limits).")
        denials = DenialReason.ordered.map { registry.makeCounter(descriptor: denialsName, labels: [("reason", $0.rawValue)]) }
        let bytesName = family("atpgate_bytes_total", "Payload bytes relayed, client to upstream (up) and back (down).")
        bytes = ByteDirection.ordered.map { registry.makeCounter(descriptor: bytesName, labels: [("direction", $0.rawValue)]) }
        let peeksName = family("atpgate_tls_peeks_total", "ClientHello peeks on CONNECT tunnels by what they found.")
        peeks = PeekResult.ordered.map { registry.makeCounter(descriptor: peeksName, labels: [("result", $0.rawValue)]) }
        let handshakesName = family("atpgate_tls_handshakes_total", "TLS inspection handshakes by leg and result.")
        handshakes = HandshakeLeg.ordered.flatMap { leg in
            HandshakeResult.ordered.map { result in
                result.applies(to: leg)
                    ? registry.makeCounter(descriptor: handshakesName, labels: [("leg", leg.rawValue), ("result", result.rawValue)])
                    : nil
            }
        }
        activeTunnels = registry.makeGauge(descriptor: family("atpgate_active_tunnels", "CONNECT tunnels open now."))
        accessLogDropped = registry.makeCounter(descriptor: family("atpgate_access_log_dropped_total",
                                                                   "Access-log lines dropped because the log could not keep up."))
    }

    /// The counters of `loop`: use them only on its queue.
    func counters(for loop: IOLoop) -> LoopCounters {
        counters[ObjectIdentifier(loop)]!
    }

    /// A policy reload ended (`succeeded`: the new policy is in force).
    public func reloaded(succeeded: Bool) {
        (succeeded ? reloadSucceeded : reloadFailed).increment()
        if succeeded { policyLoadedNow() }
    }

    /// The policy in force was loaded now (start-up, a successful reload).
    public func policyLoadedNow() {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        policyLoaded.record(Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
    }

    /// Every loop's counters summed, each read on its own queue; `completion` runs on `queue`.
    func gather(on queue: DispatchQueue, _ completion: @escaping @Sendable (CounterSnapshot) -> Void) {
        let group = DispatchGroup()
        let parts = Locked<[CounterSnapshot]>([])
        for loop in loops {
            let counters = counters(for: loop)
            loop.queue.async(group: group) {
                let snapshot = counters.snapshot()
                parts.withLock { $0.append(snapshot) }
            }
        }
        group.notify(queue: queue) {
            completion(parts.withLock { $0.reduce(CounterSnapshot(), +) })
        }
    }

    /// Folds the loops' counters into the registry and renders the text format; `completion` runs on `queue`.
    /// `dropped`: the access log's dropped-line count now.
    func scrape(on queue: DispatchQueue, dropped: @escaping @Sendable () -> Int,
                _ completion: @escaping @Sendable ([UInt8]) -> Void) {
        gather(on: queue) { [self] total in
            let text: [UInt8] = scrapeLock.withLock { _ in
                fold(total, dropped: dropped())
                return registry.emitToBuffer()
            }
            completion(text)
        }
    }

    /// Advances each folded counter by what it gained since the last scrape.
    private func fold(_ total: CounterSnapshot, dropped: Int) {
        Self.advance(requests, from: exported.requests, to: total.requests)
        Self.advance(denials, from: exported.denials, to: total.denials)
        Self.advance(bytes, from: exported.bytes, to: total.bytes)
        Self.advance(peeks, from: exported.peeks, to: total.peeks)
        Self.advance(handshakes, from: exported.handshakes, to: total.handshakes)
        activeTunnels.set(to: Double(total.activeTunnels))
        if dropped > exportedDropped { accessLogDropped.increment(by: Int64(dropped - exportedDropped)) }
        exportedDropped = max(exportedDropped, dropped)
        exported = total
    }

    private static func advance(_ counters: [Prometheus.Counter?], from old: [UInt64], to new: [UInt64]) {
        for index in counters.indices where new[index] > old[index] {
            counters[index]?.increment(by: Int64(clamping: new[index] - old[index]))
        }
    }
}
