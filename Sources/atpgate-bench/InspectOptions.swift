import ArgumentParser

/// What the inspect scenarios need (issue 11), given to `atpgate-bench suite` by `scripts/bench --inspect`:
/// the TLS sink, the name every client asks for, and two client identities — the one the sink accepts
/// (direct: the "mapped" certificate from the cloud CA, the sink verified against the upstream CA) and the
/// sensor's (through the proxy: its certificate from the sensors' CA, the proxy's minted leaf verified
/// against the inspector CA; atpgate maps the sensor to the other certificate upstream).
struct InspectOptions: ParsableArguments {
    @Option(name: .customLong("inspect-sink"), help: "The TLS sink (atpgate-bench tls-sink), HOST:PORT; enables the inspect scenarios.")
    var sink: String?
    @Option(name: .customLong("inspect-sink-pid"), help: "The TLS sink's process id (its CPU per connection is reported).")
    var sinkPid: Int32?
    @Option(name: .customLong("inspect-host"), help: "The name asked for: CONNECT host, SNI, Host, and the name checked in the server certificate.")
    var host: String = "sink.bench"
    @Option(name: .customLong("inspect-direct-cert"), help: "Direct: the client certificate the sink accepts (PEM).")
    var directCert: String?
    @Option(name: .customLong("inspect-direct-key"), help: "Direct: its key.")
    var directKey: String?
    @Option(name: .customLong("inspect-direct-trust"), help: "Direct: the CA bundle the sink's certificate chains to.")
    var directTrust: String?
    @Option(name: .customLong("inspect-cert"), help: "Through a proxy: the sensor's client certificate (PEM).")
    var proxyCert: String?
    @Option(name: .customLong("inspect-key"), help: "Through a proxy: its key.")
    var proxyKey: String?
    @Option(name: .customLong("inspect-trust"), help: "Through a proxy: the inspector CA (the minted leaves chain to it).")
    var proxyTrust: String?
    @Option(name: .customLong("inspect-clients"), help: "Client threads of inspect-rate (default 16).")
    var clients: Int?
    @Option(name: .customLong("inspect-seconds"), help: "Seconds of each inspect-rate run (default 3 quick, 10 full).")
    var seconds: Double?
    @Option(name: .customLong("inspect-mib"), help: "MiB of the inspect-throughput download (default 256 quick, 1024 full).")
    var mib: Int?

    var isGiven: Bool { sink != nil }

    /// The set-up, or nil without `--inspect-sink`; every certificate option is then required.
    func setup(full: Bool) throws -> InspectSetup? {
        guard let sink else { return nil }
        guard let endpoint = Endpoint(sink) else { throw ValidationError("--inspect-sink is an IPv4 HOST:PORT") }
        func required(_ value: String?, _ name: String) throws -> String {
            guard let value else { throw ValidationError("--inspect-sink needs --\(name)") }
            return value
        }
        let direct = try TLSBenchContext.client(certificate: required(directCert, "inspect-direct-cert"),
                                                key: required(directKey, "inspect-direct-key"),
                                                trust: required(directTrust, "inspect-direct-trust"))
        let inspected = try TLSBenchContext.client(certificate: required(proxyCert, "inspect-cert"),
                                                   key: required(proxyKey, "inspect-key"),
                                                   trust: required(proxyTrust, "inspect-trust"))
        return InspectSetup(sink: endpoint, sinkPid: sinkPid, host: host, direct: direct, inspected: inspected,
                            clients: max(1, clients ?? 16), seconds: seconds ?? (full ? 10 : 3),
                            bytes: UInt64(mib ?? (full ? 1024 : 256)) << 20)
    }
}

/// The inspect scenarios' inputs, loaded once for the whole run.
struct InspectSetup: Sendable {
    let sink: Endpoint
    let sinkPid: Int32?
    let host: String
    /// Direct to the sink: the mapped certificate, the upstream CA.
    let direct: TLSBenchContext
    /// Through a proxy: the sensor's certificate, the inspector CA.
    let inspected: TLSBenchContext
    let clients: Int
    let seconds: Double
    let bytes: UInt64

    /// For the results' header and JSON.
    func describe() -> [String: String] {
        ["inspect_clients": String(clients), "inspect_seconds": String(seconds), "inspect_bytes": String(bytes),
         "inspect_host": host, "inspect_sink": sink.description]
    }
}
