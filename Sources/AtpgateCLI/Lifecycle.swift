#if canImport(Glibc)
import Glibc
#endif
import Logging
import AtpgateEngine
import AtpgateIO

/// What the running proxy tells systemd (`sd_notify` through `$NOTIFY_SOCKET`), and its access-log file
/// across SIGUSR1 and reloads. Called from the signal queue and the reloader's queue.
final class Lifecycle: Sendable {
    private let notifier: SystemdNotifier?
    private let server: ProxyServer
    private let logger: Logger
    /// `--access-log` was given: it beats `log.access`, so a reload never moves the log.
    private let accessLogFromFlag: Bool
    /// `log.access` of the last policy loaded, to act only when a reload changes it.
    private let policyAccessLog: Locked<String?>   // pthread, not Mutex: ThreadSanitizer cannot see Mutex's futex

    init(notifier: SystemdNotifier?, server: ProxyServer, logger: Logger, accessLogFromFlag: Bool) {
        self.notifier = notifier
        self.server = server
        self.logger = logger
        self.accessLogFromFlag = accessLogFromFlag
        self.policyAccessLog = Locked(server.policies.policy.log.access)
    }

    /// `$NOTIFY_SOCKET`'s notifier; a value that cannot name a socket is a warning, not a failure
    /// (the service manager then times the start-up out, and the warning says why).
    static func notifierFromEnvironment(logger: Logger) -> SystemdNotifier? {
        guard let value = SystemdNotifier.environmentValue else { return nil }
        guard let notifier = SystemdNotifier(socketPath: value) else {
            logger.warning("\(SystemdNotifier.environmentVariable)=\(value) is not an absolute path or @abstract name that fits a socket address; not notifying systemd")
            return nil
        }
        return notifier
    }

    /// Listening, with the reloader and the signal handlers in place.
    func ready() {
        notifier?.notify("READY=1")
    }

    /// SIGTERM/SIGINT, before the drain.
    func stopping() {
        notifier?.notify("STOPPING=1")
    }

    /// `RELOADING=1` then `READY=1` around every reload, failed or not: a failed one leaves the old policy
    /// in force, so the service is ready either way. `MONOTONIC_USEC` is what `Type=notify-reload`
    /// (systemd 253+) wants in the same datagram; older managers ignore it.
    var reloadEvents: PolicyReloader.ReloadEvents {
        PolicyReloader.ReloadEvents(
            willReload: { [self] in
                notifier?.notify("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
            },
            didReload: { [self] succeeded in
                if succeeded { followPolicyAccessLog() }
                notifier?.notify("READY=1")
            })
    }

    /// SIGUSR1: logrotate renamed the file; write to a new one at the same path.
    func reopenAccessLog() {
        do {
            if let path = try server.reopenAccessLog() {
                logger.notice("SIGUSR1: access log reopened \(path)")
            } else {
                logger.notice("SIGUSR1: the access log goes to stdout; nothing to reopen")
            }
        } catch {
            logger.warning("SIGUSR1: cannot reopen the access log \(error); still writing to the old file")
        }
    }

    /// A reload that changed `log.access`: to a file, the log moves there now (a file that cannot be
    /// opened is tried again on the next reload); back to stdout, it needs a restart (the writer does not
    /// give up a file for a descriptor it does not own). Runs on the reloader's queue.
    private func followPolicyAccessLog() {
        guard !accessLogFromFlag else { return }
        let wanted = server.policies.policy.log.access
        let previous = policyAccessLog.withLock { $0 }
        guard wanted != previous else { return }
        guard let wanted else {
            policyAccessLog.withLock { $0 = nil }
            logger.warning("policy reload: log.access removed; restart atpgate to log to stdout (still writing to \(previous ?? "stdout"))")
            return
        }
        do {
            try server.reopenAccessLog(at: wanted)
            policyAccessLog.withLock { $0 = wanted }
            logger.notice("policy reload: access log now written to \(wanted)")
        } catch {
            logger.warning("policy reload: cannot open the access log \(error); still writing to \(previous ?? "stdout")")
        }
    }

    private static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
