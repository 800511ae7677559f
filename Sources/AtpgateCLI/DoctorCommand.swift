import ArgumentParser
import AtpgateDoctor
import AtpgatePolicy

/// `atpgate doctor --policy PATH [--cafile PEM] [--connect-to HOST:PORT:ADDR:PORT]… [--timeout SECONDS]`:
/// every ATP endpoint the policy allows, checked from this host (resolve, vet, connect, TLS, the classic
/// sensor's ping). Prints a table; exit 0 when every checkable endpoint passed, 1 otherwise.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check every ATP endpoint the policy allows, from this host.",
        discussion: """
        Per endpoint: resolve (the policy's hosts, else DNS), vet (the policy's address vetting and atp.pin), \
        TCP connect, TLS with SNI and the certificate check (HTTPS endpoints), and GET /tri/sensor/api/ping \
        on classic sensor hosts (a 200 with the sensor version). Wildcard hosts are listed as not checkable. \
        Without an atp block the policy's own allow rules are checked. Exit 0 when every checkable endpoint \
        passed, 1 otherwise.
        """
    )

    @Option(name: .long, help: "Policy file (default: $ATPGATE_POLICY, else policies/atpgate.yaml).")
    var policy: String?

    @Option(name: .long, help: "PEM file of trusted CA certificates, instead of the system trust store.")
    var cafile: String?

    @Option(name: .customLong("connect-to"), parsing: .singleValue,
            help: "HOST:PORT:ADDR:PORT — connect to ADDR:PORT for HOST:PORT, still checking HOST (curl's syntax; repeatable).")
    var connectTo: [String] = []

    @Option(name: .long, help: "Seconds each step may take.")
    var timeout: Double = 5

    func run() throws {
        let path = PolicyPath.resolve(flag: policy)
        do {
            let loaded = try PolicyLoader.load(path: path)
            var connections: [ConnectTo] = []
            for text in connectTo { connections.append(try ConnectTo.parse(text)) }
            let options = DoctorOptions(timeout: timeout, caFile: cafile, connectTo: connections)
            let report = try Doctor.run(policy: loaded, options: options)
            for line in report.lines { print(line) }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Output.error("\(error)")
            throw ExitCode(1)
        }
    }
}
