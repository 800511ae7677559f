import ArgumentParser

/// `atpgate probe URL [--timeout SECONDS]`: a health check for images without curl (the Dockerfile's
/// HEALTHCHECK, exec probes). Exit 0 on a 2xx answer, 1 on anything else, with one line saying which:
/// `probe: URL: 200 OK` on stdout, or `probe: URL: connect: Connection refused` on stderr.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "GET an http:// URL; exit 0 on a 2xx answer, 1 otherwise (a health check without curl)."
    )

    @Argument(help: "http://HOST[:PORT]/PATH (an IP literal, [v6] literal or a name; no https).")
    var url: String

    @Option(name: .long, help: "Seconds for connecting and the response head together (name resolution not included).")
    var timeout: Double = 3

    func validate() throws {
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else {
            throw ValidationError("--timeout must be a number of seconds above 0 (at most 3600)")
        }
    }

    func run() throws {
        let target: ProbeTarget
        do throws(ProbeTarget.Refusal) {
            target = try ProbeTarget.parse(url)
        } catch {
            Output.error("probe: \(url): \(error)")
            throw ExitCode(1)
        }
        switch HTTPProbe.get(target, timeout: .milliseconds(Int64(timeout * 1000))) {
        case .response(let status, let reason):
            let line = "probe: \(url): \(status)\(reason.isEmpty ? "" : " " + reason)"
            guard (200...299).contains(status) else {
                Output.error(line)
                throw ExitCode(1)
            }
            print(line)
        case .failed(let step, let reason):
            Output.error("probe: \(url): \(step): \(reason)")
            throw ExitCode(1)
        }
    }
}
