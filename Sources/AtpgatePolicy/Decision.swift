import AtpgateNet

public enum Verdict: String, Sendable {
    case allow, deny
}

/// How a decision is applied. `report` marks a request the default deny would have refused and that
/// `mode: report` let through: it is allowed, and logged with the rule and reason that would have denied it.
public enum DecisionMode: String, Sendable {
    case enforce, report
}

/// Where a decision came from, for logs: "atpgate.yaml:12", "default", "clients",
/// "builtin:10.0.0.0/8".
public struct RuleReference: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }
}

/// The outcome of a policy check, carrying enough context to log one line.
public struct Decision: Sendable {
    public let verdict: Verdict
    public let rule: RuleReference
    public var mode: DecisionMode = .enforce
    /// Per-client rule sets come later; the seam is here so log formats need not change.
    public var clientIdentity: String? = nil
    /// For an allowed CONNECT: the tunnel is TLS-inspected (`Policy.inspects(host:port:)`, or the CONNECT
    /// was allowed by an `https://` rule). The engine then terminates the client's TLS with a minted leaf,
    /// and decides each request inside with `Policy.decideInner`. Always false for denials and plain HTTP.
    public internal(set) var inspected = false
    private let because: Because

    /// What the reason is made from. The text is built only when someone reads `reason` (a
    /// denial's answer, `explain`): an allowed request on the hot path formats no strings.
    enum Because: Sendable {
        case text(String)
        case rule(Rule)
        case noMatch(Host, UInt16)
        /// Inside an inspected tunnel: the target and the canonical path no rule allows.
        case noInnerMatch(Host, UInt16, String)
        case client(IPAddress, IPNetwork?)
    }

    public init(verdict: Verdict, rule: RuleReference, reason: String) {
        self.init(verdict: verdict, rule: rule, because: .text(reason))
    }

    init(verdict: Verdict, rule: RuleReference, because: Because) {
        self.verdict = verdict
        self.rule = rule
        self.because = because
    }

    /// One line, e.g. "denied by rule atpgate.yaml:14 (deny evil.example.com:*)".
    public var reason: String {
        switch because {
        case .text(let text):
            return text
        case .rule(let rule):
            return rule.verdict == .deny ? "denied by rule \(rule.reference) (deny \(rule.display))"
                                         : "allowed by rule \(rule.reference) (allow \(rule.display))"
        case .noMatch(let host, let port):
            return "no allow rule matches \(host):\(port)"
        case .noInnerMatch(let host, let port, let path):
            return "no allow rule matches \(host):\(port) path \(HostText.quoted(path)) (inside the inspected tunnel)"
        case .client(let address, let network?):
            return "client \(address) is in clients (\(network))"
        case .client(let address, nil):
            return "client \(address) is not in clients"
        }
    }

    public var isAllowed: Bool { verdict == .allow }
    /// Allowed only because of report mode: the policy in enforce mode would have denied it.
    public var isReported: Bool { mode == .report }
}

public enum RequestKind: Sendable {
    case connect
    /// Origin-form path including the query, as received.
    case http(path: String)
}

/// One destination check: who asks, for which host and port, by which method.
public struct DecisionRequest: Sendable {
    public var client: IPAddress
    public var host: Host
    public var port: UInt16
    public var kind: RequestKind

    public init(client: IPAddress, host: Host, port: UInt16, kind: RequestKind) {
        self.client = client
        self.host = host
        self.port = port
        self.kind = kind
    }
}

/// The result of vetting resolved (or static) addresses before connecting.
public enum VetResult: Sendable, Equatable {
    case allowed
    /// The first denied address in the given order and the range that denied it.
    case denied(address: IPAddress, rule: RuleReference)
}
