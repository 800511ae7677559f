import COpenSSL

/// Which client certificates the client-facing handshake accepts (`inspection.clients`).
public struct ClientVerification: Sendable {
    /// Trust anchors a client certificate may chain to; their subjects are also sent as the acceptable-CA
    /// list, so clients that hold several certificates (curl, Windows) pick one of these.
    public var caCertificates: [Certificate]
    /// SHA-256 digests of the DER of client certificates accepted as they are, whoever issued them.
    public var pins: [[UInt8]]
    /// With `require`, a client without a certificate, or whose certificate neither verifies against
    /// `caCertificates` nor matches a pin, fails the handshake. Without it a certificate is asked for but
    /// not required, and one that does not verify is reported as not verified.
    public var require: Bool

    public init(caCertificates: [Certificate] = [], pins: [[UInt8]] = [], require: Bool) {
        self.caCertificates = caCertificates
        self.pins = pins
        self.require = require
    }
}

/// The client-certificate check OpenSSL calls in place of `X509_verify_cert` (its cert-verify callback,
/// whose argument is this object, kept alive by the `TLSServerContext` that every stream retains).
/// Immutable, so any loop may run it (hence `@unchecked Sendable`).
final class ClientCertificateCheck: @unchecked Sendable {
    private let pins: Set<[UInt8]>
    private let require: Bool

    init(_ verification: ClientVerification) {
        pins = Set(verification.pins)
        require = verification.require
    }

    /// The chain verifies against the CAs, or the leaf is pinned (the result is then set to X509_V_OK, so
    /// the stream reports the client verified). Otherwise the failure stands in the verify result, and the
    /// handshake fails only when a certificate is required.
    func check(_ store: OpaquePointer) -> Int32 {
        if X509_verify_cert(store) == 1 { return 1 }
        if !pins.isEmpty, let leaf = X509_STORE_CTX_get0_cert(store), pins.contains(Certificate(borrowing: leaf).sha256) {
            X509_STORE_CTX_set_error(store, X509_V_OK)
            ERR_clear_error()   // the handshake goes on: nothing of this may read as its error
            return 1
        }
        if require { return 0 }
        ERR_clear_error()
        return 1
    }

    static let callback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { store, argument in
        guard let store, let argument else { return 0 }
        return Unmanaged<ClientCertificateCheck>.fromOpaque(argument).takeUnretainedValue().check(store)
    }
}
