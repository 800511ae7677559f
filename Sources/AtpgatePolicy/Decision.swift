import AtpgateNet

public enum Verdict: String, Sendable {
    case allow, deny
}

/// How a decision is applied. Only enforcement exists today; report-only mode will be a
/// new case, so callers should already switch on it rather than assume.
public enum DecisionMode: String, Sendable {
    case enforce
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
    /// One line, e.g. "denied by rule atpgate.yaml:14 (deny evil.example.com:*)".
    public let reason: String
    public var mode: DecisionMode = .enforce
    /// Per-client rule sets come later; the seam is here so log formats need not change.
    public var clientIdentity: String? = nil

    public init(verdict: Verdict, rule: RuleReference, reason: String) {
        self.verdict = verdict
        self.rule = rule
        self.reason = reason
    }

    public var isAllowed: Bool { verdict == .allow }
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
