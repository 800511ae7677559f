/// The label values of atpgate's metrics. Bounded sets, fixed at compile time: a label never carries a
/// host name, a client address or anything else a peer chooses, so a scrape has the same series whatever
/// the traffic. Every value is exported from start-up at 0. The texts are a contract (dashboards and
/// alerts use them): never rename one.

/// A label set: its values in a fixed order, which is also where each value's counter sits in a loop's array.
protocol MetricLabel: CaseIterable, Equatable, Sendable, RawRepresentable where RawValue == String {
    /// `allCases` made once (a synthesized `allCases` builds a new array on every call).
    static var ordered: [Self] { get }
}

extension MetricLabel {
    /// The value's position in `ordered`: a scan of a handful of values, no allocation.
    var ordinal: Int { Self.ordered.firstIndex(of: self) ?? 0 }
}

/// `atpgate_requests_total{kind}`: a CONNECT, a plain-HTTP request (absolute-form, or a head that could
/// not be read), or a request inside an inspected tunnel. PAC requests and the admin listener are not counted.
enum RequestKindLabel: String, MetricLabel {
    static let ordered = Array(allCases)

    case connect, http, inner
}

/// `atpgate_requests_total{decision}`: the access log's `decision`.
enum DecisionLabel: String, MetricLabel {
    static let ordered = Array(allCases)

    case allow, deny, error, report

    init(logged text: String) {
        self = DecisionLabel(rawValue: text) ?? .error
    }
}

/// `atpgate_denials_total{reason}`: every request the proxy refuses on purpose, by the token of its
/// answer (the access log's `error`): the policy, the TLS checks and the limits. A deny with a token not
/// listed here (none today: a safety net for tokens added later) counts as `other`.
enum DenialReason: String, MetricLabel {
    static let ordered = Array(allCases)

    case denied
    case clientDenied = "client-denied"
    case addressDenied = "address-denied"
    case sniMismatch = "sni-mismatch"
    case noSNI = "no-sni"
    case notTLS = "not-tls"
    case helloTooLarge = "hello-too-large"
    case helloTimeout = "hello-timeout"
    case clientCertRequired = "client-cert-required"
    case clientCertInvalid = "client-cert-invalid"
    case clientTLSFailed = "client-tls-failed"
    case clientTLSTimeout = "client-tls-timeout"
    case leafFailed = "leaf-failed"
    case misdirectedRequest = "misdirected-request"
    case clientLimit = "client-limit"
    case proxyFull = "proxy-full"
    case other

    /// The reason a logged request counts under, or nil when it was not refused on purpose.
    static func of(decision: String, token: String?) -> DenialReason? {
        if let token, let reason = DenialReason(rawValue: token), reason != .other { return reason }
        return decision == "deny" ? .other : nil
    }
}

/// `atpgate_bytes_total{direction}`: payload relayed client → upstream (`up`) and upstream → client
/// (`down`), as the access log's bytes_up / bytes_down count it (bodies and tunnel bytes, not heads).
enum ByteDirection: String, MetricLabel {
    static let ordered = Array(allCases)

    case up, down
}

/// `atpgate_tls_peeks_total{result}`: the ClientHello peek (`tls:`), by what it found. With `sni: log`
/// a finding is counted the same, though the tunnel went on.
enum PeekResult: String, MetricLabel {
    static let ordered = Array(allCases)

    case passed
    case sniMismatch = "sni-mismatch"
    case noSNI = "no-sni"
    case notTLS = "not-tls"
    case helloTooLarge = "hello-too-large"
    case helloTimeout = "hello-timeout"
    /// The client closed or failed before a whole ClientHello (or sent nothing at all).
    case clientClosed = "client-closed"
}

/// `atpgate_tls_handshakes_total{leg}`: TLS inspection's two handshakes.
enum HandshakeLeg: String, MetricLabel {
    static let ordered = Array(allCases)

    case client, upstream
}

/// `atpgate_tls_handshakes_total{result}`.
enum HandshakeResult: String, MetricLabel {
    static let ordered = Array(allCases)

    case ok
    /// Client leg: no client certificate where `clients.require` wants one.
    case certRequired = "cert-required"
    /// Client leg: the client's certificate is not trusted; upstream leg: the server's is not (chain or name).
    case certInvalid = "cert-invalid"
    /// Upstream leg: the server refused the client certificate presented on the sensor's behalf.
    case certRejected = "cert-rejected"
    case timeout
    /// Anything else (no common version or cipher, a reset, garbage).
    case failed

    /// Whether the result can happen on `leg` (only those series are exported).
    func applies(to leg: HandshakeLeg) -> Bool {
        switch self {
        case .certRequired: return leg == .client
        case .certRejected: return leg == .upstream
        default: return true
        }
    }
}
