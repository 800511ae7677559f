#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO
import COpenSSL
import CAtpgateOpenSSL

/// The upstream side of TLS inspection: how the proxy re-originates TLS to the server. TLS 1.2 or newer,
/// the server's chain verified against `trust` and its name against the CONNECT host, no resumption,
/// ALPN offering http/1.1. Per connection (`makeStream`): the host (SNI and name check) and optionally a
/// client certificate chain presented on the client's behalf.
///
/// Immutable once made; one context serves every loop (hence `@unchecked Sendable`).
public final class TLSClientContext: @unchecked Sendable {
    /// Which certificates the upstream's chain must lead to.
    public enum Trust: Sendable {
        /// OpenSSL's default verify paths (the system store).
        case system
        /// Only these anchors (or intermediates, which count as anchors too).
        case bundle([Certificate])
    }

    /// The `SSL_CTX *` (owned).
    let context: OpaquePointer
    public let trust: Trust

    public init(trust: Trust) throws(OpenSSLError) {
        let operation = "setting up the upstream TLS context"
        OpenSSL.drainErrorQueue()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .drain(operation) }
        do throws(OpenSSLError) {
            try SSLSettings.applyCommon(to: context, operation: operation)
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            switch trust {
            case .system:
                guard SSL_CTX_set_default_verify_paths(context) == 1 else { throw .drain("\(operation): the system trust store") }
            case .bundle(let certificates):
                try SSLSettings.trust(certificates, in: context, operation: operation)
            }
            let protocols: [UInt8] = [8] + Array("http/1.1".utf8)
            // 0 is success here (unlike nearly every other OpenSSL call).
            guard SSL_CTX_set_alpn_protos(context, protocols, UInt32(protocols.count)) == 0 else {
                throw .drain("\(operation): ALPN")
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        self.trust = trust
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// A client stream over `transport` to `host` (the CONNECT host: a DNS name, or an IP literal, with or
    /// without brackets), presenting `certificateChain` (leaf first, all of it sent) and `privateKey` when
    /// given.
    public func makeStream(transport: SocketChannel, host: String, certificateChain: [Certificate] = [],
                           privateKey: PrivateKey? = nil) throws(OpenSSLError) -> TLSStream {
        try TLSStream(client: self, transport: transport, host: host, certificateChain: certificateChain, privateKey: privateKey)
    }

    /// A new `SSL` for one upstream connection: SNI (a DNS name only: RFC 6066 sends no IP literal), the
    /// name or address the certificate must carry, and the client certificate if any.
    func makeSSL(host: String, chain: [Certificate], key: PrivateKey?) throws(OpenSSLError) -> OpaquePointer {
        OpenSSL.drainErrorQueue()
        guard let ssl = SSL_new(context) else { throw .drain("creating an upstream TLS connection") }
        do throws(OpenSSLError) {
            let target = Self.target(host)
            guard let parameters = SSL_get0_param(ssl) else { throw .drain("the upstream host check") }
            if target.isIPAddress {
                guard X509_VERIFY_PARAM_set1_ip_asc(parameters, target.name) == 1 else {
                    throw .drain("the upstream host check for \(target.name)")
                }
            } else {
                X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                guard X509_VERIFY_PARAM_set1_host(parameters, target.name, 0) == 1,
                      atpgate_ssl_set_tlsext_host_name(ssl, target.name) == 1 else {
                    throw .drain("the upstream server name \(target.name)")
                }
            }
            switch (chain.isEmpty, key) {
            case (true, nil): break
            case (false, let key?): try SSLSettings.use(chain: chain, key: key, on: ssl, operation: "the upstream client certificate")
            default: throw OpenSSLError("the upstream client certificate: a chain and its key go together", reasons: [])
            }
        } catch {
            SSL_free(ssl)
            throw error
        }
        SSL_set_connect_state(ssl)
        return ssl
    }

    /// The name to check (and send as SNI) or the address to check: brackets and a final dot dropped.
    static func target(_ host: String) -> (name: String, isIPAddress: Bool) {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var address = in6_addr()
        if inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1 {
            return (name, true)
        }
        if name.hasSuffix(".") { name.removeLast() }
        return (name, false)
    }
}
