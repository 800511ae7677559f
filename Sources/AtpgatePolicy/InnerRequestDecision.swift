import AtpgateNet

/// The decision on one request inside an inspected tunnel (`Policy.decideInner`).
public struct InnerDecision: Sendable {
    public enum Outcome: String, Sendable {
        /// Forward it.
        case allow
        /// Refuse it: 403.
        case deny
        /// A path some server could read as another path (`PathScan`): 400, before any rule is consulted,
        /// exactly as for a plain-HTTP request.
        case invalidPath
    }

    public let outcome: Outcome
    /// The same verdict (`invalidPath` is a deny), rule and reason as a `Decision`, for the access log:
    /// the rule is the deciding rule's reference, "default" when nothing matched, "path" for `invalidPath`.
    public let decision: Decision

    public var rule: RuleReference { decision.rule }
    public var reason: String { decision.reason }
    public var isAllowed: Bool { outcome == .allow }
}

extension Policy {
    /// Decides a request inside an inspected tunnel to `host:port` (the CONNECT target; the engine has
    /// already answered 421 when the request's `Host` names another). `path` is the request target's path
    /// and query as sent (origin form).
    ///
    /// The path is scanned and canonicalised exactly as a plain-HTTP request's is (`invalidPath` where that
    /// refuses), then: a deny rule that matches wins — a `HOST:PORTS` deny for the target, or an
    /// `https://` deny whose path matches any reading a server could make of it (ASCII case ignored,
    /// `;params` cut); else an allow rule — a `HOST:PORTS` allow for the target allows every path, an
    /// `https://` allow must match the canonical path exactly or as a segment prefix; else deny, rule
    /// "default". `http://` rules never apply here: they speak about plain HTTP.
    public func decideInner(host: Host, port: UInt16, path: String) -> InnerDecision {
        let readings: PathReadings
        do {
            readings = try PathReadings(path)
        } catch {
            return InnerDecision(outcome: .invalidPath,
                                 decision: Decision(verdict: .deny, rule: RuleReference("path"),
                                                    reason: "invalid request path: \(error.reason)"))
        }
        let subject = RuleSubject.inner(readings)
        if let rule = denyTable.firstMatch(host: host, port: port, subject: subject, embedded: true) {
            return InnerDecision(outcome: .deny, decision: Decision(verdict: .deny, rule: rule.reference, because: .rule(rule)))
        }
        if let rule = allowTable.firstMatch(host: host, port: port, subject: subject) {
            return InnerDecision(outcome: .allow, decision: Decision(verdict: .allow, rule: rule.reference, because: .rule(rule)))
        }
        return InnerDecision(outcome: .deny, decision: Decision(verdict: .deny, rule: RuleReference("default"),
                                                                because: .noInnerMatch(host, port, String(readings.canonical))))
    }
}
