import ArgumentParser

/// Placeholder: the doctor helper replaces this file.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Check every ATP endpoint the policy allows.")
    func run() throws { throw ExitCode(1) }
}
