#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import AtpgateEngine

/// SIGTERM / SIGINT: stop accepting, let open tunnels finish for the grace period, exit 0.
/// SIGHUP: reload the policy now.
/// Sources live inside a type (never top-level code: see main.swift).
enum SignalHandling {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []   // written once, at start-up

    static func install(server: ProxyServer, reloader: PolicyReloader, logger: Logger) {
        let queue = DispatchQueue(label: "atpgate.signals")
        for signalNumber in [SIGTERM, SIGINT] {
            handle(signalNumber, on: queue) {
                // The grace period of the policy in force now, which a reload may have changed.
                let grace = server.policies.policy.timeouts.grace
                logger.notice("signal \(signalNumber): stopping; open connections have \(grace)s to finish")
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
    }

    private static func handle(_ signalNumber: Int32, on queue: DispatchQueue, _ body: @escaping @Sendable () -> Void) {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
        source.setEventHandler(handler: body)
        source.resume()
        sources.append(source)
    }
}
