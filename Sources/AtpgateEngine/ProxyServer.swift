#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import Logging
import AtpgateNet
import AtpgatePolicy
import AtpgateIO
import AtpgateTLS

/// The proxy: listeners, loops, the shared context, and graceful shutdown.
public final class ProxyServer: @unchecked Sendable {
    public struct Options: Sendable {
        /// Serial I/O queues; one per core is the usual shape.
        public var loops: Int
        /// Replaces the policy's `listen` (the `--listen` flag); port 0 picks a free port.
        public var listen: [ListenAddress]?
        /// The resolver seam; nil = getaddrinfo on dedicated threads.
        public var resolver: (any Resolver)?
        /// Where access-log records go; nil = JSON lines on stdout through a bounded async writer.
        public var accessLog: (@Sendable (AccessRecord) -> Void)?
        /// Seconds between two warnings about dropped access-log lines.
        public var droppedLinesWarningInterval: Double = 60
        /// The file the JSON lines are appended to (`log.access`, `--access-log`); nil = stdout.
        /// Ignored when `accessLog` is set.
        public var accessLogPath: String?

        public init(loops: Int = Self.defaultLoopCount, listen: [ListenAddress]? = nil,
                    resolver: (any Resolver)? = nil, accessLog: (@Sendable (AccessRecord) -> Void)? = nil,
                    accessLogPath: String? = nil) {
            self.loops = loops
            self.listen = listen
            self.resolver = resolver
            self.accessLog = accessLog
            self.accessLogPath = accessLogPath
        }

        public static var defaultLoopCount: Int {
            max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        }
    }

    public let policies: PolicyStore
    /// TLS inspection's material for the policy in force (issue 11), and its minted leaves.
    public let inspection: InspectionStore
    public let logger: Logger
    /// Metrics (issue 12): per-loop counters and the Prometheus registry `/metrics` renders.
    public let metrics: ProxyMetrics
    private let options: Options
    private let group: IOLoopGroup
    private let registry = ConnectionRegistry()
    private let pools: UpstreamPools
    private let resolver: any Resolver
    private let accessWriter: LineWriter?
    private let dropReporter: DropReporter?
    private var listeners: [Listener] = []   // written once in start(), before any other thread reads it
    private var context: ProxyContext?
    private var admin: AdminServer?          // written once in start(), like `listeners`
    /// `stop` was called: `/readyz` answers 503 from then on.
    private let draining = Atomic<Bool>(false)

    /// Loads the inspection material the policy names (certificates and keys): a file that cannot be used
    /// is `file: reason` here, before anything listens: a `CertificateFileError`, or an `AccessLogFileError`
    /// for an access-log file that cannot be opened.
    public init(policy: Policy, options: Options = Options(), logger: Logger = Logger(label: "atpgate"))
        throws {
        self.inspection = InspectionStore(try policy.inspection.map { settings throws(CertificateFileError) in
            try InspectionMaterial.load(settings)
        })
        self.policies = PolicyStore(policy)
        self.options = options
        self.logger = logger
        self.group = IOLoopGroup(count: options.loops)
        self.metrics = ProxyMetrics(loops: group.loops)
        metrics.policyLoadedNow()
        self.pools = UpstreamPools(loops: group.loops)
        self.resolver = options.resolver ?? SystemResolver()
        if options.accessLog == nil {
            let writer = try options.accessLogPath.map { path throws(AccessLogFileError) in
                try LineWriter(appendingTo: path)
            } ?? LineWriter(fd: STDOUT_FILENO)
            accessWriter = writer
            dropReporter = DropReporter(writer: writer, logger: logger, interval: options.droppedLinesWarningInterval)
        } else {
            accessWriter = nil
            dropReporter = nil
        }
    }

    /// The addresses actually bound (with the real port when 0 was asked for).
    public var boundAddresses: [SocketAddress] {
        var seen = Set<SocketAddress>()
        return listeners.map(\.address).filter { seen.insert($0).inserted }
    }

    /// Which relay path bytes took, summed over the loops. Waits for every loop: never call it from one.
    public var statistics: ProxyStatistics { ProxyStatistics(metrics.gatherNow()) }

    /// Connections open right now (clients being served, including their tunnels).
    public var liveConnections: Int { registry.count }

    /// SIGUSR1 (after logrotate renamed the file): opens the access-log file again, or `path` instead
    /// (a reload changed `log.access`), and switches to it between two lines. Returns the path now
    /// written; nil when the log goes to stdout or a custom sink (nothing to reopen). When the file
    /// cannot be opened it throws, and the log keeps going to the old descriptor.
    @discardableResult
    public func reopenAccessLog(at path: String? = nil) throws(AccessLogFileError) -> String? {
        try accessWriter?.reopen(at: path)
    }

    /// Access-log lines dropped because the log (stdout or the file) could not keep up.
    public var droppedLogLines: Int { accessWriter?.dropped ?? 0 }

    /// The admin listener's address (`admin:` in the policy), once started; nil without one.
    public var adminAddress: SocketAddress? { admin?.address }

    /// Binds every listener (all or nothing), the admin listener too, and starts accepting.
    public func start() throws(SocketError) {
        let addresses = options.listen ?? policies.policy.listen
        var bound: [Listener] = []
        do {
            if let settings = policies.policy.admin {
                let writer = accessWriter
                admin = try AdminServer(listen: settings.listen, loop: group.loops[0], policies: policies, metrics: metrics,
                                        logger: logger) { [weak self] in
                    (ready: !(self?.draining.load(ordering: .relaxed) ?? true), dropped: writer?.dropped ?? 0)
                }
            }
            for listen in addresses {
                let port = try Listener.claimPort(SocketAddress(ip: listen.ip, port: listen.port))
                for loop in group.loops {
                    bound.append(try Listener(address: SocketAddress(ip: listen.ip, port: port), loop: loop,
                                              reusePort: true, logger: logger) { [weak self] socket, peer in
                        self?.accepted(socket, from: peer, on: loop)
                    })
                }
            }
        } catch {
            for listener in bound { listener.stop() }
            admin?.stop()
            admin = nil
            throw error
        }
        listeners = bound
        let writer = accessWriter
        let sink: @Sendable (AccessRecord) -> Void = options.accessLog ?? { record in writer?.write(record.jsonLine) }
        context = ProxyContext(policies: policies, resolver: resolver, dialer: DirectDialer(), accessLog: sink,
                               selfAddresses: Self.selfAddresses(of: boundAddresses + [admin?.address].compactMap { $0 }),
                               registry: registry,
                               metrics: metrics, pac: PACService(), logger: logger, pools: pools,
                               inspection: inspection)
        for listener in bound { listener.start() }
        admin?.start()
        dropReporter?.start()
    }

    /// Stops accepting, lets open connections finish for `grace` seconds, then closes the rest.
    /// `completion` runs once every connection is gone.
    /// The admin listener keeps answering meanwhile (`/readyz` says 503) and stops last.
    public func stop(grace: Double, completion: @escaping @Sendable () -> Void) {
        draining.store(true, ordering: .relaxed)
        for listener in listeners { listener.stop() }
        pools.closeAll()
        registry.forEach { $0.shutdown(force: false) }
        let start = monotonicNanos()
        let registry = self.registry
        let writer = accessWriter
        let reporter = dropReporter
        let resolver = self.resolver
        let admin = self.admin
        @Sendable func poll() {
            if registry.count == 0 || Double(monotonicNanos() &- start) / 1e9 >= grace {
                registry.forEach { $0.shutdown(force: true) }
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) {
                    writer?.flush()
                    writer?.stop()
                    reporter?.stop()
                    (resolver as? SystemResolver)?.stop()
                    admin?.stop()
                    completion()
                }
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { poll() }
        }
        poll()
    }

    /// `on_reload: cut-denied`: closes every tunnel (and in-flight forwarded request) whose target
    /// or upstream address `policy` denies. Each connection checks itself on its own loop.
    public func cutConnections(deniedBy policy: Policy) {
        registry.forEach { $0.cut(ifDeniedBy: policy) }
    }

    /// After every reload: idle upstream connections (plain-HTTP keep-alive) whose last request `policy`
    /// refuses, or whose address it no longer vets, are closed. Whatever `on_reload` says: an idle
    /// connection carries no request, so dropping it costs nothing but a new connect.
    public func dropPooledConnections(deniedBy policy: Policy) {
        guard let context else { return }
        pools.sweep(policy, selfAddresses: context.selfAddresses)
    }

    /// Idle upstream connections in the keep-alive pools. Waits for every loop: never call it from one.
    public var pooledUpstreamConnections: Int { pools.idleCount() }

    /// Runs on `loop`'s queue: the connection starts where it was accepted.
    private func accepted(_ socket: Socket, from peer: SocketAddress, on loop: IOLoop) {
        guard let context else { socket.close(); return }
        let connection = ProxyConnection(id: registry.makeID(), loop: loop, socket: socket, clientAddress: peer,
                                         context: context)
        connection.start()
    }

    /// The proxy's own endpoints: the bound addresses, and for wildcard listeners every local address.
    static func selfAddresses(of bound: [SocketAddress]) -> SelfAddresses {
        var addresses = SelfAddresses()
        for address in bound {
            if address.ip == IPAddress("0.0.0.0") || address.ip == IPAddress("::") {
                addresses.wildcardPorts.insert(address.port)
            } else {
                addresses.exact.insert(address)
            }
        }
        if !addresses.wildcardPorts.isEmpty {
            addresses.localIPs = localInterfaceAddresses()
        }
        return addresses
    }

    static func localInterfaceAddresses() -> Set<IPAddress> {
        var result: Set<IPAddress> = [IPAddress("127.0.0.1")!, IPAddress("::1")!]
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return result }
        defer { freeifaddrs(first) }
        var node: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = node {
            if let addr = entry.pointee.ifa_addr {
                let family = Int32(addr.pointee.sa_family)
                var storage = sockaddr_storage()
                let size = family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
                if family == AF_INET || family == AF_INET6 {
                    withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: addr, count: size)) }
                    if let socketAddress = SocketAddress(storage: storage) { result.insert(socketAddress.ip) }
                }
            }
            node = entry.pointee.ifa_next
        }
        return result
    }
}
