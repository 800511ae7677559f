#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// `atpgate-bench tls-sink`: the upstream of the inspection benchmarks (`TLSBenchServer`).
struct TLSSinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-sink",
        abstract: "Run the TLS sink: mutual TLS (client certificate required), GET /small (1 KiB) or GET /bytes/N, then close."
    )

    @Option(help: "Listen address, IPv4 HOST:PORT.") var listen: String = "127.0.0.1:0"
    @Option(help: "The server certificate (PEM; its leaf is presented).") var cert: String
    @Option(help: "Its private key (PEM, owner-only file).") var key: String
    @Option(help: "The CA bundle client certificates must chain to (PEM).") var clientCa: String
    @Option(help: "Threads blocking in accept (each serves one connection at a time).") var threads: Int = 64
    @Option(help: "Exit after this many seconds.") var maxSeconds: Double = 7200
    @Option(help: "Exit when this process is gone.") var parent: Int32?

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        guard let endpoint = Endpoint(listen) else { throw ValidationError("--listen is an IPv4 HOST:PORT") }
        let context = try TLSBenchContext.server(certificate: cert, key: key, clientCA: clientCa)
        let server = try TLSBenchServer(listen: endpoint, context: context)
        server.start(threads: threads)
        note("tls-sink listening on \(endpoint.host):\(server.port) (\(threads) threads)")
        // The accept threads never return: this thread only watches the deadline and the parent.
        let deadline = nowNanos() + UInt64(maxSeconds * 1e9)
        while nowNanos() < deadline {
            if let parent, kill(parent, 0) != 0 { break }
            sleepSeconds(0.5)
        }
        Glibc.exit(0)
    }
}
