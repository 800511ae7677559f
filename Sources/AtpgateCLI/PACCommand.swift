import ArgumentParser
import AtpgateClientConfig
import AtpgatePolicy

/// `atpgate pac --policy PATH --proxy HOST:PORT [--others direct|proxy]`: the PAC file for a policy.
struct PACCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pac",
        abstract: "Print a PAC file that sends what the policy allows through the proxy."
    )

    @Option(name: .long, help: "Policy file (default: $ATPGATE_POLICY, else policies/atpgate.yaml).")
    var policy: String?

    @Option(name: .long, help: "HOST:PORT clients reach the proxy at (default: the policy's pac.proxy).")
    var proxy: String?

    @Option(name: .long, help: "Where everything else goes: direct or proxy (default: the policy's pac.others, else direct).")
    var others: PACOthers?

    func run() throws {
        let loaded = try WindowsPolicy.load(PolicyPath.resolve(flag: policy), exitCode: 1)
        guard let proxyText = proxy ?? loaded.pac?.proxy?.description else {
            throw WindowsPolicy.failure("--proxy HOST:PORT is required (or a pac.proxy in the policy)")
        }
        guard let address = ProxyAddress(proxyText) else { throw WindowsPolicy.failure("--proxy '\(proxyText)' is not HOST:PORT") }
        print(PACFile.generate(policy: loaded, proxy: address.description, others: others ?? loaded.pac?.others ?? .direct,
                               bypass: loaded.pac?.bypass ?? []), terminator: "")
    }
}

extension PACOthers: ExpressibleByArgument {}
