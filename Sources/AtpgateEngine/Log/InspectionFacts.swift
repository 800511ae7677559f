/// The access log's `inspection` object (issue 11): on every line of an inspected tunnel — its CONNECT and
/// each request inside it — who was on each leg. `null` on lines of tunnels that were not inspected. Field
/// names are a contract with operators' tooling.
///   "inspection":{"client_subject":"CN=DC01.contoso.com","client_sha256":"…","client_verified":true,
///                 "upstream_client_subject":"CN=DC01.contoso.com","upstream_server_subject":"CN=*.atp.azure.com"}
public struct InspectionFacts: Sendable, Equatable {
    /// The downstream client's certificate subject (RFC 2253), nil when it sent none.
    public var clientSubject: String?
    /// SHA-256 (hex) of the client's certificate.
    public var clientSHA256: String?
    /// The client's certificate verified against `inspection.clients` (CA or pin).
    public var clientVerified: Bool
    /// The certificate presented upstream on the client's behalf (from `client_certs`), nil when none.
    public var upstreamClientSubject: String?
    /// The upstream server's certificate subject, once its handshake completed.
    public var upstreamServerSubject: String?

    public init(clientSubject: String? = nil, clientSHA256: String? = nil, clientVerified: Bool = false,
                upstreamClientSubject: String? = nil, upstreamServerSubject: String? = nil) {
        self.clientSubject = clientSubject
        self.clientSHA256 = clientSHA256
        self.clientVerified = clientVerified
        self.upstreamClientSubject = upstreamClientSubject
        self.upstreamServerSubject = upstreamServerSubject
    }

    func appendJSON(to out: inout [UInt8]) {
        out.append(contentsOf: "{\"client_subject\":".utf8)
        AccessRecord.appendQuotedOrNull(clientSubject, to: &out)
        out.append(contentsOf: ",\"client_sha256\":".utf8)
        AccessRecord.appendQuotedOrNull(clientSHA256, to: &out)
        out.append(contentsOf: ",\"client_verified\":".utf8)
        out.append(contentsOf: (clientVerified ? "true" : "false").utf8)
        out.append(contentsOf: ",\"upstream_client_subject\":".utf8)
        AccessRecord.appendQuotedOrNull(upstreamClientSubject, to: &out)
        out.append(contentsOf: ",\"upstream_server_subject\":".utf8)
        AccessRecord.appendQuotedOrNull(upstreamServerSubject, to: &out)
        out.append(UInt8(ascii: "}"))
    }
}
