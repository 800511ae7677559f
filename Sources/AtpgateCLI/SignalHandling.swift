#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import AtpgateEngine

/// SIGTERM / SIGINT: stop accepting, let open tunnels finish for the grace period, exit 0.
/// Sources live inside a type (never top-level code: see main.swift).
enum SignalHandling {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []   // written once, at start-up

    static func install(server: ProxyServer, grace: Double, logger: Logger) {
        let queue = DispatchQueue(label: "atpgate.signals")
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                logger.notice("signal \(signalNumber): stopping; open connections have \(grace)s to finish")
                server.stop(grace: grace) {
                    logger.notice("stopped")
                    exit(0)
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}
