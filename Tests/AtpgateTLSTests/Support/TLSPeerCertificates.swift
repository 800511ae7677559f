import Foundation
@testable import AtpgateTLS

/// Certificates for the TLS stream tests, made by the real `openssl` in a scratch directory: a CA, a
/// server leaf from it for localhost and 127.0.0.1, a client leaf from it, and a client leaf from another
/// CA. Files: ca.pem, other-ca.pem, server.pem/server-key.pem, client.pem/client-key.pem,
/// stranger.pem/stranger-key.pem.
final class TLSPeerCertificates: @unchecked Sendable {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
        try makeCA("ca", subject: "/CN=atpgate test CA")
        try makeCA("other-ca", subject: "/CN=atpgate other CA")
        try makeLeaf("server", ca: "ca", subject: "/CN=localhost",
                     extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        try makeLeaf("client", ca: "ca", subject: "/CN=client.test/O=atpgate",
                     extensions: "extendedKeyUsage=clientAuth\n")
        try makeLeaf("stranger", ca: "other-ca", subject: "/CN=stranger.test",
                     extensions: "extendedKeyUsage=clientAuth\n")
    }

    func path(_ name: String) -> String { directory.path(name) }

    func chain(_ name: String) throws -> [Certificate] {
        try Certificate.chain(file: path("\(name).pem"))
    }

    func key(_ name: String) throws -> PrivateKey {
        try PrivateKey.load(pem: Array(try Data(contentsOf: URL(fileURLWithPath: path("\(name)-key.pem")))), source: name)
    }

    private func makeCA(_ name: String, subject: String) throws {
        try directory.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", "\(name)-key.pem", "-out", "\(name).pem", "-days", "2", "-subj", subject)
    }

    private func makeLeaf(_ name: String, ca: String, subject: String, extensions: String) throws {
        try Data(("basicConstraints=CA:FALSE\n" + extensions).utf8).write(to: URL(fileURLWithPath: path("\(name).ext")))
        try directory.openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", "\(name)-key.pem", "-out", "\(name).csr", "-subj", subject)
        try directory.openssl("x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca)-key.pem",
                              "-CAcreateserial", "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext")
    }
}
