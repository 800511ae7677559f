import AtpgateNet
import AtpgateTLSHello

/// What a finished peek means for the tunnel (issue 10), the same for a relayed tunnel and an inspected one:
/// the hello passed (its bytes go on, unchanged), or it is refused with a token (`enforce` refuses; `log`
/// lets the bytes go on anyway), or the client broke off before a whole hello.
enum HelloVerdict {
    case passed([UInt8])
    case failed(HelloRefusal, bytes: [UInt8])
    /// The client's socket failed mid-hello: nothing to refuse, the tunnel just ends.
    case clientBroke(EndReason)

    /// The verdict on `outcome` for a CONNECT to `connectHost`; a whole hello's facts go into `facts`
    /// (the access log's `tls`, written on refusals too).
    init(_ outcome: HelloPeek.Outcome, connectHost: Host, facts: inout TLSFacts?) {
        switch outcome {
        case .hello(let hello, let bytes):
            facts = TLSFacts(hello)
            if let refusal = SNICheck.refusal(connectHost: connectHost, serverName: hello.serverName) {
                self = .failed(refusal, bytes: bytes)
            } else {
                self = .passed(bytes)
            }
        case .notTLS(let reason, let bytes):
            self = .failed(HelloRefusal(token: .notTLS, reason: reason), bytes: bytes)
        case .tooLarge(let reason, let bytes):
            self = .failed(HelloRefusal(token: .helloTooLarge, reason: reason), bytes: bytes)
        case .clientEnded(let reason?, _):
            self = .clientBroke(reason)
        case .clientEnded(nil, let bytes) where bytes.isEmpty:
            // Closed without a byte (a probe, a health check): an empty tunnel, not a refusal.
            self = .passed(bytes)
        case .clientEnded(nil, let bytes):
            self = .failed(HelloRefusal(token: .notTLS, reason: "the client closed before a complete ClientHello"), bytes: bytes)
        }
    }

    /// How the peek counts in `atpgate_tls_peeks_total`.
    var peekResult: PeekResult {
        switch self {
        case .passed(let bytes): return bytes.isEmpty ? .clientClosed : .passed
        case .failed(let refusal, _): return PeekResult(rawValue: refusal.token.rawValue) ?? .notTLS
        case .clientBroke: return .clientClosed
        }
    }
}
