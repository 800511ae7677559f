import Foundation
import Testing
@testable import AtpgateTLS

/// Certificates and keys as operators hand them to the inspector: PEM files made by the real `openssl`.
@Suite("Certificates and keys")
struct CertificateLoadingTests {
    @Test func libraryIsSupported() throws {
        try OpenSSL.requireSupportedVersion()
        #expect(OpenSSL.versionText.hasPrefix("OpenSSL 3"))
    }

    @Test func loadsAChainAndItsKey() throws {
        let dir = try TemporaryDirectory()
        try dir.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", "leaf-key.pem", "-out", "leaf.pem", "-days", "2", "-subj", "/CN=DC01.contoso.test/O=Contoso",
                        "-addext", "subjectAltName=DNS:dc01.contoso.test,IP:192.0.2.7")
        try dir.setMode("leaf-key.pem", 0o600)
        let chain = try Certificate.chain(file: dir.path("leaf.pem"))
        #expect(chain.count == 1)
        #expect(chain[0].subjectCommonName == "DC01.contoso.test")
        #expect(chain[0].subject == "O=Contoso,CN=DC01.contoso.test")
        #expect(chain[0].subjectAltNames.map(\.description) == ["DNS:dc01.contoso.test", "IP:192.0.2.7"])
        #expect(chain[0].sha256Hex == (try dir.fingerprint("leaf.pem")))
        #expect(chain[0].notAfter - chain[0].notBefore == 2 * 86400)
        let key = try PrivateKey.load(file: dir.path("leaf-key.pem"))
        #expect(key.matches(chain[0]))
        #expect(!(try PrivateKey.generateP256()).matches(chain[0]))
    }

    @Test func aKeyOthersCanReadIsRefusedWithTheReason() throws {
        let dir = try TemporaryDirectory()
        try dir.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem")
        for mode in [0o644, 0o640, 0o604, 0o660] {
            try dir.setMode("key.pem", mode)
            #expect(throws: CertificateFileError(path: dir.path("key.pem"), reason:
                "a private key must be readable by its owner only, but its mode is 0\(String(mode, radix: 8)) (chmod 600 it)")) {
                try PrivateKey.load(file: dir.path("key.pem"))
            }
        }
        try dir.setMode("key.pem", 0o400)
        _ = try PrivateKey.load(file: dir.path("key.pem"))
    }

    @Test func badFilesSayWhichAndWhy() throws {
        let dir = try TemporaryDirectory()
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: dir.path("junk.pem")))
        #expect(throws: CertificateFileError.self) { try Certificate.chain(file: dir.path("junk.pem")) }
        do {
            _ = try Certificate.chain(file: dir.path("missing.pem"))
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.description == "\(dir.path("missing.pem")): No such file or directory")
        }
        try dir.setMode("junk.pem", 0o600)
        #expect(throws: CertificateFileError.self) { try PrivateKey.load(file: dir.path("junk.pem")) }
    }
}
