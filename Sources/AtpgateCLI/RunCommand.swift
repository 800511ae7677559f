#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import Logging
import AtpgateEngine
import AtpgateIO
import AtpgatePolicy

/// `atpgate run [--policy PATH] [--listen HOST:PORT]... [--access-log PATH]`
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the proxy."
    )

    @Option(name: .long, help: "Policy file (default: $ATPGATE_POLICY, else policies/atpgate.yaml).")
    var policy: String?

    @Option(name: .long, help: "Listen on HOST:PORT ([v6]:PORT for IPv6); repeatable; replaces the policy's listen.")
    var listen: [String] = []

    @Option(name: .long, help: "Append the access log to this file (beats the policy's log.access); reopened on SIGUSR1.")
    var accessLog: String?

    @Option(name: .long, help: "Log level for diagnostics on stderr (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    func run() throws {
        LoggingSetup.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "atpgate")
        let path = PolicyPath.resolve(flag: policy)

        let loaded: Policy
        do {
            loaded = try PolicyLoader.load(path: path)
        } catch {
            Startup.fail("atpgate: cannot load policy: \(error)")
        }
        var listenOverride: [ListenAddress]?
        if !listen.isEmpty {
            listenOverride = listen.map { text in
                guard let address = ListenAddress(text) else {
                    Startup.fail("atpgate: --listen '\(text)' is not HOST:PORT with an IP address (use [v6]:PORT for IPv6)")
                }
                return address
            }
        }

        ProcessSetup.ignoreSIGPIPE()
        let descriptors = ProcessSetup.raiseDescriptorLimit()
        let server: ProxyServer
        do {
            server = try ProxyServer(policy: loaded, options: .init(listen: listenOverride,
                                                                    accessLogPath: accessLog ?? loaded.log.access),
                                     logger: logger)
        } catch let error as AccessLogFileError {
            Startup.fail("atpgate: cannot open the access log \(error)")
        } catch {
            Startup.fail("atpgate: cannot load the inspection certificates: \(error)")
        }
        do {
            try server.start()
        } catch {
            Startup.fail("atpgate: cannot listen: \(error)")
        }
        let lifecycle = Lifecycle(notifier: Lifecycle.notifierFromEnvironment(logger: logger), server: server,
                                  logger: logger, accessLogFromFlag: accessLog != nil)
        let reloader = PolicyReloader(path: path, server: server, logger: logger, events: lifecycle.reloadEvents)
        reloader.start()
        SignalHandling.install(server: server, reloader: reloader, lifecycle: lifecycle, logger: logger)
        // Last: tools and tests take this line (and systemd READY=1) to mean "ready", signals included.
        logger.info("atpgate listening", metadata: [
            "listen": .string(server.boundAddresses.map(\.description).joined(separator: " ")),
            "policy": .string(path),
            "descriptors": .stringConvertible(descriptors),
            "admin": .string(server.adminAddress?.description ?? "off"),
        ])
        lifecycle.ready()
        dispatchMain()
    }
}

/// Where the policy comes from when `--policy` is not given.
enum PolicyPath {
    static func resolve(flag: String?) -> String {
        if let flag { return flag }
        if let env = getenv("ATPGATE_POLICY"), let value = String(validatingCString: env), !value.isEmpty {
            return value
        }
        return "policies/atpgate.yaml"
    }
}

enum Startup {
    /// One clear line on stderr, exit status 1.
    static func fail(_ message: String) -> Never {
        Output.error(message)
        exit(1)
    }
}

extension String {
    func replacingNewlines() -> String {
        String(map { $0.isNewline ? " " : $0 })
    }
}
