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

    @Argument(help: "host:port, [v6]:port, http://host[:port]/path, or https://host[:port]/path (a CONNECT and, when inspected, the request inside)")
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
        let connectOrForward: Decision
        switch admission.decide(client: clientAddress, host: request.host, port: request.port, kind: request.kind,
                                decisionClient: clientAddress ?? IPAddress("127.0.0.1")!) {
        case .failure(let refusal): report(refusal)
        case .success(let allowed): connectOrForward = allowed
        }
        var notes = [admission.tlsPeekSummary(host: request.host, port: request.port, kind: request.kind)].compactMap { $0 }
        if case .connect = request.kind {
            notes.append(loaded.inspectionExplanation(host: request.host, port: request.port))
        }
        var decision = connectOrForward
        if let innerPath = request.innerPath {
            decision = try explainInner(path: innerPath, in: loaded, request: request, connect: connectOrForward, notes: &notes)
        }
        guard resolve else { report(decision, notes: notes) }
        let addresses: [IPAddress]
        if let fixed = admission.addressesWithoutDNS(for: request.host) {
            addresses = fixed
        } else {
            guard case .name(let name) = request.host else { report(decision, notes: notes) }
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
        report(decision, notes: notes)
    }

    /// An `https://` target: inside an inspected tunnel the request is decided again, and that decision is
    /// the answer (a denial exits at once, as the proxy answers it before anything else); an uninspected
    /// tunnel never shows the proxy a path. A path the proxy would answer with 400 is an error (exit 2).
    private func explainInner(path: String, in policy: Policy, request: ExplainTarget, connect: Decision,
                              notes: inout [String]) throws -> Decision {
        guard connect.inspected else {
            notes.append("path: not seen by the proxy (the tunnel is not inspected)")
            return connect
        }
        let inner = policy.decideInner(host: request.host, port: request.port, path: path)
        notes.insert("connect: \(connect.reason)", at: 0)
        switch inner.outcome {
        case .invalidPath:
            Output.error("error: the proxy answers 400 to this request inside the inspected tunnel: \(inner.reason)")
            throw ExitCode(2)
        case .deny:
            report(inner.decision, notes: notes)
        case .allow:
            return inner.decision
        }
    }

    private func report(_ refusal: Admission.Refusal) -> Never {
        report(Decision(verdict: .deny, rule: refusal.rule, reason: refusal.reason))
    }

    /// Prints the verdict, the deciding rule and why, then the notes (what the TLS peek and inspection do to
    /// the tunnel), and exits 0 (allow) or 1 (deny).
    private func report(_ decision: Decision, notes: [String] = []) -> Never {
        // Report mode: what only the default deny refused goes through; say so rather than a bare "allow".
        print(decision.isReported ? "report (allowed: mode report; enforce would deny)" : decision.verdict.rawValue)
        print("rule: \(decision.rule.text)")
        print("why: \(decision.reason)")
        for note in notes { print(note) }
        Glibc.exit(decision.verdict == .allow ? 0 : 1)   // C exit flushes stdout
    }
}
