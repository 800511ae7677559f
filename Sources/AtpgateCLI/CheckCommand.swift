import ArgumentParser
import AtpgatePolicy

/// `atpgate check --policy PATH`: exit 0 and a summary of the effective policy, or exit 1 and the error.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a policy file and print every effective rule with where it came from."
    )

    @Option(name: .long, help: "Policy file (default: $ATPGATE_POLICY, else policies/atpgate.yaml).")
    var policy: String?

    func run() throws {
        let path = PolicyPath.resolve(flag: policy)
        do {
            let loaded = try PolicyLoader.load(path: path)
            print("\(path): OK")
            for line in loaded.summary { print("  \(line)") }
            // Settings that load but would break sensors: printed, and still exit 0 (the policy is valid).
            for warning in loaded.inspectionWarnings { print("warning: \(warning)") }
        } catch {
            Output.error("\(error)")
            throw ExitCode(1)
        }
    }
}
