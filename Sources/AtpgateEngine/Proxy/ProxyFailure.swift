/// A request the proxy answers itself with an error status. The token goes into the
/// `X-Atpgate-Error` header and the access log; tokens are a contract: never rename them.
struct ProxyFailure: Error {
    let status: Int
    let token: String
    let message: String
    var rule: String? = nil
    /// Seconds for a `Retry-After` field (the connection limits' 429 and 503).
    var retryAfter: Int? = nil

    /// Denials are policy decisions; everything else is an error.
    var decision: String {
        switch token {
        case "denied", "client-denied", "address-denied": return "deny"
        default: return "error"
        }
    }

    static func badRequest(_ message: String) -> ProxyFailure {
        ProxyFailure(status: 400, token: "bad-request", message: message)
    }
    static func headTooLarge(limit: Int) -> ProxyFailure {
        ProxyFailure(status: 431, token: "head-too-large", message: "request head larger than \(limit) bytes")
    }
    static func headTimeout(seconds: Double) -> ProxyFailure {
        ProxyFailure(status: 408, token: "head-timeout", message: "request head not complete within \(formatSeconds(seconds))")
    }
    static func dnsFailed(_ host: String, _ reason: String) -> ProxyFailure {
        ProxyFailure(status: 502, token: "dns-failed", message: "cannot resolve \(host): \(reason)")
    }
    static func dnsTimeout(_ host: String, seconds: Double) -> ProxyFailure {
        ProxyFailure(status: 504, token: "dns-timeout", message: "resolving \(host) took longer than \(formatSeconds(seconds))")
    }
    static func resolverBusy(_ host: String) -> ProxyFailure {
        ProxyFailure(status: 504, token: "resolver-busy", message: "resolver queue full, \(host) not looked up")
    }
    static func connectRefused(_ message: String) -> ProxyFailure {
        ProxyFailure(status: 502, token: "connect-refused", message: message)
    }
    static func connectTimeout(_ target: String) -> ProxyFailure {
        ProxyFailure(status: 504, token: "connect-timeout", message: "connecting to \(target) timed out")
    }
    static func responseTimeout(seconds: Double) -> ProxyFailure {
        ProxyFailure(status: 504, token: "response-timeout", message: "upstream sent no response within \(formatSeconds(seconds))")
    }
    static func upstreamFailed(_ message: String) -> ProxyFailure {
        ProxyFailure(status: 502, token: "upstream-failed", message: message)
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
}
