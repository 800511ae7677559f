import ArgumentParser

/// Placeholder: the packaging helper replaces this file.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe", abstract: "GET a URL; exit 0 on a 2xx answer.")
    func run() throws { throw ExitCode(1) }
}
