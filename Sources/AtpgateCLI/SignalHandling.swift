#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import AtpgateEngine

/// SIGTERM / SIGINT: tell systemd (STOPPING=1), stop accepting, let open tunnels finish for the grace
/// period, exit 0.
/// SIGHUP: reload the policy now (RELOADING=1 and READY=1 come from the reloader's events).
/// SIGUSR1: reopen the access-log file (logrotate renamed it).
/// Sources live inside a type (never top-level code: see main.swift).
enum SignalHandling {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []   // written once, at start-up

    static func install(server: ProxyServer, reloader: PolicyReloader, lifecycle: Lifecycle, logger: Logger) {
        let queue = DispatchQueue(label: "atpgate.signals")
        for signalNumber in [SIGTERM, SIGINT] {
            handle(signalNumber, on: queue) {
                // The grace period of the policy in force now, which a reload may have changed.
                let grace = server.policies.policy.timeouts.grace
                logger.notice("signal \(signalNumber): stopping; open connections have \(grace)s to finish")
                lifecycle.stopping()
                reloader.stop()
                server.stop(grace: grace) {
                    logger.notice("stopped")
                    exit(0)
                }
            }
        }
        handle(SIGHUP, on: queue) {
            logger.notice("SIGHUP: reloading the policy")
            reloader.reload(trigger: "SIGHUP")
        }
        // Its default action ends the process: a stray SIGUSR1 before this line would have killed it.
        handle(SIGUSR1, on: queue) {
            lifecycle.reopenAccessLog()
        }
    }

    private static func handle(_ signalNumber: Int32, on queue: DispatchQueue, _ body: @escaping @Sendable () -> Void) {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
        source.setEventHandler(handler: body)
        source.resume()
        sources.append(source)
    }
}
