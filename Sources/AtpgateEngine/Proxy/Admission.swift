import AtpgateNet
import AtpgatePolicy
import AtpgateIO

/// The one admission path: client check → destination decision → (resolution, done by the caller) →
/// address vetting → what to dial. The proxy uses it for every request, `on_reload: cut-denied` to
/// decide established connections again, and `atpgate explain` to say what the proxy would do: one
/// place to read when asking "why was this allowed". Pure (no I/O): resolution stays with the caller,
/// which hands the addresses to `vet`.
public struct Admission: Sendable {
    /// Why a request is refused: the `X-Atpgate-Error` token, the deciding rule and a one-line reason.
    public struct Refusal: Error, Sendable, Equatable {
        public enum Kind: String, Sendable {
            case clientDenied = "client-denied"
            case denied
            case addressDenied = "address-denied"
        }
        public let kind: Kind
        public let rule: RuleReference
        public let reason: String
    }

    /// What an admitted request may dial, in the order to try (IPv6 and IPv4 interleaved).
    public struct Dial: Sendable {
        public let addresses: [SocketAddress]
    }

    public let policy: Policy
    /// The proxy's own endpoints, never dialled; empty for `explain`, which has no listeners.
    let selfAddresses: SelfAddresses

    init(policy: Policy, selfAddresses: SelfAddresses) {
        self.policy = policy
        self.selfAddresses = selfAddresses
    }

    /// For `atpgate explain`: the policy alone, no listeners.
    public init(policy: Policy) {
        self.init(policy: policy, selfAddresses: SelfAddresses())
    }

    /// The client check (skipped when `client` is nil: `explain` without `--client`) and the destination
    /// decision. No DNS.
    public func decide(client: IPAddress?, host: Host, port: UInt16, kind: RequestKind,
                       decisionClient: IPAddress) -> Result<Decision, Refusal> {
        if let client, let refusal = checkClient(client) { return .failure(refusal) }
        let decision = policy.decide(DecisionRequest(client: decisionClient, host: host, port: port, kind: kind))
        guard decision.verdict == .allow else {
            return .failure(Refusal(kind: .denied, rule: decision.rule, reason: decision.reason))
        }
        return .success(decision)
    }

    /// Whether `client` may use the proxy at all (`clients`); nil when it may.
    public func checkClient(_ client: IPAddress) -> Refusal? {
        let decision = policy.isClientAllowed(client)
        guard decision.verdict == .deny else { return nil }
        return Refusal(kind: .clientDenied, rule: decision.rule, reason: decision.reason)
    }

    /// The addresses that need no DNS: an IP literal, or the policy's `hosts` entry (still vetted). nil:
    /// the caller resolves the name.
    public func addressesWithoutDNS(for host: Host) -> [IPAddress]? {
        switch host {
        case .ip(let address): return [address]
        case .name: return policy.staticAddresses(for: host)
        }
    }

    /// Vets every address (fail closed: one denied address refuses the request), refuses the proxy's own
    /// endpoints in every spelling, and returns what to dial.
    public func vet(_ addresses: [IPAddress], host: Host, port: UInt16) -> Result<Dial, Refusal> {
        if case .denied(let address, let rule) = policy.vet(addresses, host: host) {
            return .failure(Refusal(kind: .addressDenied, rule: rule,
                                    reason: AddressDenial.message(address: address, host: host, rule: rule)))
        }
        let targets = addresses.map { SocketAddress(ip: $0, port: port) }
        if let own = targets.first(where: { selfAddresses.contains($0) }) {
            return .failure(Refusal(kind: .addressDenied, rule: RuleReference("builtin:self"),
                                    reason: "\(own) is this proxy's own listening address"))
        }
        return .success(Dial(addresses: interleaveFamilies(targets)))
    }

    /// What the TLS peek does to an allowed CONNECT, for `atpgate explain`; nil for plain HTTP.
    public func tlsPeekSummary(host: Host, port: UInt16, kind: RequestKind) -> String? {
        guard case .connect = kind else { return nil }
        let tls = policy.tls
        guard tls.peeks(port: port) else {
            return tls.sni == .off ? "tls: not peeked (tls.sni is off)" : "tls: not peeked (port \(port) is not in tls.ports)"
        }
        let expected: String
        switch host {
        case .name(let name): expected = "the TLS ClientHello must name \(name) (SNI)"
        case .ip: expected = "the TLS ClientHello must carry no SNI (a CONNECT to an IP address)"
        }
        return tls.sni == .enforce ? "tls: sni enforced: \(expected)" : "tls: sni logged only (enforce would require: \(expected))"
    }

    /// A request already admitted (a tunnel, a response in flight, a dial in progress) decided again,
    /// as `on_reload: cut-denied` does: the destination and the addresses it reached or is about to
    /// reach. nil when it may go on.
    func recheck(client: IPAddress, host: Host, port: UInt16, kind: RequestKind,
                 addresses: [IPAddress]) -> Refusal? {
        if case .failure(let refusal) = decide(client: nil, host: host, port: port, kind: kind, decisionClient: client) {
            return refusal
        }
        if case .failure(let refusal) = vet(addresses, host: host, port: port) { return refusal }
        return nil
    }
}

extension ProxyFailure {
    /// The 403 for a refusal of the admission path.
    init(_ refusal: Admission.Refusal) {
        self.init(status: 403, token: refusal.kind.rawValue, message: refusal.reason, rule: refusal.rule.text)
    }
}
