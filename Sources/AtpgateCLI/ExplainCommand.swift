#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import AtpgateEngine
import AtpgateNet
import AtpgatePolicy

/// `atpgate explain --policy PATH [--client IP] [--resolve] TARGET`: decides on the policy alone (no DNS
/// unless --resolve) and says which rule decided and why. Exit 0 allow, 1 deny, 2 error.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain the policy's decision for host:port (CONNECT) or an http:// URL."
    )

    @Option(name: .long, help: "Policy file (default: $ATPGATE_POLICY, else policies/atpgate.yaml).")
    var policy: String?

    @Option(name: .long, help: "The client's address; checked against the policy's clients.")
    var client: String?

    @Flag(name: .long, help: "Also resolve the name (hosts: entries first, then DNS) and vet every address.")
    var resolve = false

    @Argument(help: "host:port, [v6]:port, or http://host[:port]/path")
    var target: String

    func run() throws {
        let loaded: Policy
        let request: ExplainTarget
        do {
            loaded = try PolicyLoader.load(path: PolicyPath.resolve(flag: policy))
            request = try ExplainTarget(target)
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
        var clientAddress: IPAddress? = nil
        if let client {
            guard let address = IPAddress(client) else {
                Output.error("error: --client '\(client)' is not an IP address")
                throw ExitCode(2)
            }
            clientAddress = address
        }
        // The proxy's own admission path: client check, decision, then (with --resolve) vetting.
        let admission = Admission(policy: loaded)
        let decision: Decision
        switch admission.decide(client: clientAddress, host: request.host, port: request.port, kind: request.kind,
                                decisionClient: clientAddress ?? IPAddress("127.0.0.1")!) {
        case .failure(let refusal): report(refusal)
        case .success(let allowed): decision = allowed
        }
        let tlsLine = admission.tlsPeekSummary(host: request.host, port: request.port, kind: request.kind)
        guard resolve else { report(decision, tls: tlsLine) }
        let addresses: [IPAddress]
        if let fixed = admission.addressesWithoutDNS(for: request.host) {
            addresses = fixed
        } else {
            guard case .name(let name) = request.host else { report(decision, tls: tlsLine) }
            switch SystemResolver.getaddrinfo(name) {
            case .success(let found): addresses = found
            case .failure(let error):
                Output.error("error: cannot resolve \(name): \(error)")
                throw ExitCode(2)
            }
        }
        print("addresses: \(addresses.map(\.description).joined(separator: ", "))")
        if case .failure(let refusal) = admission.vet(addresses, host: request.host, port: request.port) {
            report(refusal)
        }
        report(decision, tls: tlsLine)
    }

    private func report(_ refusal: Admission.Refusal) -> Never {
        report(Decision(verdict: .deny, rule: refusal.rule, reason: refusal.reason))
    }

    /// Prints the verdict, the deciding rule and why, and exits 0 (allow) or 1 (deny).
    private func report(_ decision: Decision, tls: String? = nil) -> Never {
        print(decision.verdict.rawValue)
        print("rule: \(decision.rule.text)")
        print("why: \(decision.reason)")
        if decision.verdict == .allow, let tls { print(tls) }
        Glibc.exit(decision.verdict == .allow ? 0 : 1)   // C exit flushes stdout
    }
}
