#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import AtpgatePolicy
import AtpgateIO
import AtpgateTLS

/// Live reload: watches the policy's files (policy, catalog, service tags) and reloads on change or
/// on request (SIGHUP). Parsing and compiling run on the reloader's own queue, never on the I/O
/// queues; the new policy is swapped in atomically, so new connections and each new request on a
/// keep-alive connection see it while established tunnels keep theirs. A broken edit is logged as
/// `policy reload failed: file:line:col: message` and the last good policy stays in force.
/// Confined to `queue`.
public final class PolicyReloader: @unchecked Sendable {
    /// Called on the reloader's queue around every load of the policy (SIGHUP or a file change; never
    /// for a wake-up that changed nothing): systemd's `RELOADING=1` and `READY=1` hang off these.
    public struct ReloadEvents: Sendable {
        /// Before the files are read.
        public var willReload: @Sendable () -> Void
        /// After the new policy is in force (`true`), or after a failure left the old one in force.
        public var didReload: @Sendable (_ succeeded: Bool) -> Void

        public init(willReload: @escaping @Sendable () -> Void = {},
                    didReload: @escaping @Sendable (_ succeeded: Bool) -> Void = { _ in }) {
            self.willReload = willReload
            self.didReload = didReload
        }
    }

    private let path: String
    private let server: ProxyServer
    private let logger: Logger
    private let debounce: Double
    private let events: ReloadEvents
    private let queue = DispatchQueue(label: "atpgate.reload")
    private var watcher: FileWatcher?
    private var pending: DispatchWorkItem?
    /// The bytes of each watched file as last loaded (successfully or not), to skip wake-ups that
    /// changed nothing and not to report the same broken edit twice.
    private var snapshot: [String: [UInt8]] = [:]

    public init(path: String, server: ProxyServer, logger: Logger, debounce: Double = 0.2,
                events: ReloadEvents = ReloadEvents()) {
        self.path = path
        self.server = server
        self.logger = logger
        self.debounce = debounce
        self.events = events
    }

    /// Starts watching the files of the policy in force.
    public func start() {
        queue.sync {
            let files = Self.watchedFiles(server.policies.policy)
            snapshot = Self.read(files)
            let watcher = FileWatcher(queue: queue) { [weak self] in self?.scheduleCheck() }
            if !watcher.watch(files) {
                logger.warning("cannot watch \(files.joined(separator: ", ")) for changes; reload with SIGHUP")
            }
            self.watcher = watcher
        }
    }

    public func stop() {
        queue.sync {
            pending?.cancel()
            watcher?.stop()
            watcher = nil
        }
    }

    /// Reloads now, whether or not the files changed (SIGHUP).
    public func reload(trigger: String) {
        queue.async { [self] in load(trigger: trigger) }
    }

    /// Editors write in several steps: wait until the files have been quiet for `debounce` seconds.
    private func scheduleCheck() {
        pending?.cancel()
        let work = DispatchWorkItem { [weak self] in self?.checkFiles() }
        pending = work
        queue.asyncAfter(deadline: .now() + debounce, execute: work)
    }

    private func checkFiles() {
        let files = Array(snapshot.keys)
        if Self.read(files) != snapshot {
            load(trigger: "file change")
        } else {
            // A symlink swap to identical content, or an unrelated file in the folder: re-arm only.
            _ = watcher?.watch(Self.watchedFiles(server.policies.policy))
        }
    }

    private func load(trigger: String) {
        events.willReload()
        let succeeded = apply(trigger: trigger)
        server.metrics.reloaded(succeeded: succeeded)   // atpgate_policy_reloads_total, ..._loaded_timestamp_seconds
        events.didReload(succeeded)
    }

    /// Loads and swaps in the policy; false when it failed and the policy in force stays.
    private func apply(trigger: String) -> Bool {
        let current = server.policies.policy
        let loaded: Policy
        do {
            loaded = try PolicyLoader.load(path: path)
        } catch {
            snapshot = Self.read(Self.watchedFiles(current))
            logger.error("policy reload failed: \(error)")
            return false
        }
        // The certificates and keys the new policy names, loaded here (off the I/O queues). A file that
        // cannot be used keeps the policy and the material in force: `file: reason`.
        let material: InspectionMaterial?
        do {
            material = try loaded.inspection.map { settings throws(CertificateFileError) in try InspectionMaterial.load(settings) }
        } catch {
            snapshot = Self.read(Self.watchedFiles(loaded))
            _ = watcher?.watch(Self.watchedFiles(loaded))
            logger.error("policy reload failed: \(error)")
            return false
        }
        snapshot = Self.read(Self.watchedFiles(loaded))
        _ = watcher?.watch(Self.watchedFiles(loaded))
        if loaded.listen != current.listen {
            logger.warning("policy reload: listen changed to \(loaded.listen.map(\.description).joined(separator: " ")); restart atpgate to apply it (still listening on \(server.boundAddresses.map(\.description).joined(separator: " ")))")
        }
        if loaded.admin?.listen != current.admin?.listen {
            let now = server.adminAddress.map(\.description) ?? "no admin listener"
            logger.warning("policy reload: admin changed to \(loaded.admin.map { $0.listen.description } ?? "(none)"); restart atpgate to apply it (still \(now)); admin.clients applies now")
        }
        server.inspection.replace(with: material)
        server.policies.replace(with: loaded)
        server.dropPooledConnections(deniedBy: loaded)
        logger.notice("policy reloaded (\(trigger)) from \(path)")
        if loaded.onReload == .cutDenied {
            server.cutConnections(deniedBy: loaded)
        }
        return true
    }

    /// The policy's own files and every certificate and key file its inspection section names.
    static func watchedFiles(_ policy: Policy) -> [String] {
        policy.sourceFiles + (policy.inspection?.allFiles ?? [])
    }

    /// The files' bytes (an unreadable file maps to an empty array: still a change when it returns).
    static func read(_ files: [String]) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for file in files { result[file] = readFile(file) ?? [] }
        return result
    }

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes += chunk[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            return n == 0 ? bytes : nil
        }
    }
}
