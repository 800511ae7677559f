/// Answers and log tokens of TLS inspection (issue 11). Tokens are a contract with operators' tooling:
/// never rename them. Inside an inspected tunnel the answer goes to the client inside its TLS leg.
extension ProxyFailure {
    /// An inner request whose `Host` is not the CONNECT host (RFC 9110 §15.5.20: the connection cannot
    /// answer for that authority).
    static func misdirected(host: String, tunnel: String) -> ProxyFailure {
        ProxyFailure(status: 421, token: "misdirected-request",
                     message: "Host \(host) is not the tunnel's host \(tunnel)")
    }

    /// The upstream TLS handshake failed: no chain the trust store accepts, or not the right name.
    static func upstreamCertificateInvalid(_ reason: String) -> ProxyFailure {
        ProxyFailure(status: 502, token: "upstream-cert-invalid", message: "upstream certificate refused: \(reason)")
    }

    /// The upstream refused the client certificate presented on the client's behalf (a TLS 1.2 handshake
    /// failure, or a TLS 1.3 alert on the first read after the handshake).
    static func upstreamClientCertificateRejected(_ reason: String) -> ProxyFailure {
        ProxyFailure(status: 502, token: "upstream-client-cert-rejected",
                     message: "the upstream rejected the client certificate: \(reason)")
    }

    /// Any other upstream TLS failure (no common version or cipher, a reset during the handshake, …).
    static func upstreamTLSFailed(_ reason: String) -> ProxyFailure {
        ProxyFailure(status: 502, token: "upstream-tls-failed", message: "upstream TLS handshake failed: \(reason)")
    }

    /// The policy in force no longer inspects (a reload removed `inspection:`, or its files failed to load).
    static let inspectionUnavailable = ProxyFailure(status: 502, token: "inspection-unavailable",
                                                    message: "TLS inspection is not configured")
}

/// Why an inspected tunnel ended before any inner request could be answered: the CONNECT line's `error`.
enum InspectionRefusal: String, Sendable {
    /// `clients.require` and the client sent no certificate.
    case clientCertRequired = "client-cert-required"
    /// The client's certificate neither verifies against `clients.ca` nor matches a pin.
    case clientCertInvalid = "client-cert-invalid"
    /// The client's TLS handshake failed otherwise (no common version, no http/1.1 in its ALPN, garbage).
    case clientTLSFailed = "client-tls-failed"
    /// The client's handshake did not complete within `timeouts.head`.
    case clientTLSTimeout = "client-tls-timeout"
    /// What the client sent inside the tunnel is not an HTTP/1.1 request.
    case notHTTP11 = "not-http1.1"
    /// No leaf could be minted for the host (logged with OpenSSL's reason).
    case leafFailed = "leaf-failed"

    /// The rule the refusals at the client's handshake name in the log.
    static let clientRule = "inspection.clients"
}
