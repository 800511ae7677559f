import ArgumentParser
import AtpgateClientConfig
import AtpgatePolicy

/// `atpgate sensor-command --proxy URL [--policy PATH] [--credentials]`: the sensor's install
/// command line and the PowerShell line for an installed sensor, both pointing at this proxy.
struct SensorCommandCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensor-command",
        abstract: "Print the Defender for Identity sensor install command and PowerShell line for this proxy."
    )

    @Option(name: .long, help: "http://HOST:PORT or HOST:PORT of the proxy (default: the policy's pac.proxy).")
    var proxy: String?

    @Option(name: .long, help: "Policy file whose pac.proxy is the default --proxy.")
    var policy: String?

    @Flag(name: .long, help: "Add proxy credential placeholders.")
    var credentials = false

    func run() throws {
        var fromPolicy: String? = nil
        if let policy { fromPolicy = try WindowsPolicy.load(policy, exitCode: 1).pac?.proxy?.description }
        guard let text = proxy ?? fromPolicy else { throw WindowsPolicy.failure("--proxy URL is required (or a --policy with pac.proxy)") }
        guard let url = SensorCommand.proxyURL(text) else {
            throw WindowsPolicy.failure("--proxy '\(text)' is not http://HOST:PORT (the sensor talks plain HTTP to its proxy)")
        }
        let command = SensorCommand(proxyURL: url, credentials: credentials)
        print("REM New sensor (cmd, in the folder of the extracted installer):")
        print(try command.installCommand())
        print("# Installed sensor (PowerShell, DefenderForIdentity module):")
        print(command.powerShellCommand)
    }
}
