import Foundation
import Testing
@testable import AtpgateTLS

/// The inspection CA: made by `create` and read by the real `openssl`, and loaded from operators' files,
/// with each unusable file refused by name and reason.
@Suite("Inspection CA")
struct CertificateAuthorityTests {
    @Test func aCreatedCAIsAConstrainedP256Root() throws {
        let dir = try TemporaryDirectory()
        let ca = try CertificateAuthority.create(commonName: "Contoso inspection", permittedDNS: ["contoso.test", ".fabrikam.test"])
        let files = try ca.write(toDirectory: dir.path("ca"))
        #expect(files == .init(certificate: dir.path("ca/ca.pem"), key: dir.path("ca/ca-key.pem")))
        let text = try dir.openssl("x509", "-in", "ca/ca.pem", "-noout", "-text")
        for expected in ["Version: 3 (0x2)", "Issuer: CN = Contoso inspection", "Subject: CN = Contoso inspection",
                         "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0",
                         "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign",
                         "X509v3 Subject Key Identifier", "X509v3 Name Constraints: critical",
                         "Permitted:\n                  DNS:contoso.test\n                  DNS:.fabrikam.test",
                         "Excluded:\n                  IP:0.0.0.0/0.0.0.0", "Signature Algorithm: ecdsa-with-SHA256"] {
            #expect(text.contains(expected), "missing \(expected)")
        }
        let extensions = try dir.extensions(of: "ca/ca.pem")
        #expect(extensions["X509v3 Authority Key Identifier"] == extensions["X509v3 Subject Key Identifier"])
        #expect(try dir.openssl("verify", "-x509_strict", "-CAfile", "ca/ca.pem", "ca/ca.pem") == "ca/ca.pem: OK\n")
        let key = try dir.openssl("pkey", "-in", "ca/ca-key.pem", "-noout", "-text")
        #expect(key.contains("ASN1 OID: prime256v1") && key.contains("NIST CURVE: P-256"))
        #expect(ca.certificate.notAfter - ca.certificate.notBefore == 3650 * 86400 + 3600)
        #expect(ca.identity == (try dir.fingerprint("ca/ca.pem")))
    }

    @Test func withoutPermittedNamesThereAreNoNameConstraints() throws {
        let dir = try TemporaryDirectory()
        let ca = try CertificateAuthority.create()
        try dir.savePEM("ca.pem", ca.certificate.pem)
        #expect(!(try dir.openssl("x509", "-in", "ca.pem", "-noout", "-text")).contains("Name Constraints"))
        #expect(ca.certificate.subjectCommonName == "atpgate inspection CA")
    }

    @Test func permittedNamesMustBeDNSNames() throws {
        for bad in ["", ".", "a b.test", "*.contoso.test", "contoso..test", "contoso.test,DNS:evil.test", "..contoso.test"] {
            #expect(throws: OpenSSLError.self, "\(bad)") { try CertificateAuthority.create(permittedDNS: [bad]) }
        }
        _ = try CertificateAuthority.create(permittedDNS: [".contoso.test", "xn--bcher-kva.test", "_srv.contoso.test"])
    }

    @Test func writtenFilesLoadBackAsTheSameCA() throws {
        let dir = try TemporaryDirectory()
        let created = try CertificateAuthority.create()
        let files = try created.write(toDirectory: dir.path("ca"))
        #expect(try mode(files.key) == 0o600 && mode(files.certificate) == 0o644 && mode(dir.path("ca")) == 0o700)
        let loaded = try CertificateAuthority.load(certificate: files.certificate, key: files.key)
        #expect(loaded.identity == created.identity)
        #expect(loaded.subjectKeyIdentifier == created.subjectKeyIdentifier)
        #expect(loaded.key.matches(created.certificate))
    }

    @Test func writingNeverOverwritesAndWantsAPrivateDirectory() throws {
        let dir = try TemporaryDirectory()
        let first = try CertificateAuthority.create()
        let files = try first.write(toDirectory: dir.path("ca"))
        let before = try [Data(contentsOf: URL(fileURLWithPath: files.key)), Data(contentsOf: URL(fileURLWithPath: files.certificate))]
        #expect(throws: CertificateFileError(path: files.key, reason: "already exists; not overwritten (move it away to make a new CA)")) {
            try CertificateAuthority.create().write(toDirectory: dir.path("ca"))
        }
        try FileManager.default.removeItem(atPath: files.key)
        #expect(throws: CertificateFileError(path: files.certificate,
                                             reason: "already exists; not overwritten (move it away to make a new CA)")) {
            try CertificateAuthority.create().write(toDirectory: dir.path("ca"))
        }
        #expect(!FileManager.default.fileExists(atPath: files.key), "nothing is written when one file exists")
        #expect(try Data(contentsOf: URL(fileURLWithPath: files.certificate)) == before[1])

        try FileManager.default.createDirectory(atPath: dir.path("shared"), withIntermediateDirectories: false)
        try dir.setMode("shared", 0o775)
        #expect(throws: CertificateFileError.self) { try first.write(toDirectory: dir.path("shared")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("shared")).isEmpty)
        // An existing private directory is used, and its mode left as it was.
        try dir.setMode("shared", 0o750)
        _ = try first.write(toDirectory: dir.path("shared"))
        #expect(try mode(dir.path("shared")) == 0o750)
    }

    // MARK: Loading operators' files

    /// A certificate and key made by `openssl req -x509` with the given extension lines.
    private func makeCA(_ dir: TemporaryDirectory, _ name: String, extensions: [String]) throws {
        let config = """
            [req]
            distinguished_name = dn
            prompt = no
            x509_extensions = ext
            [dn]
            CN = \(name)
            [ext]
            \(extensions.joined(separator: "\n"))

            """
        try dir.savePEM("\(name).cnf", config)
        try dir.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                        "-config", "\(name).cnf", "-keyout", "\(name)-key.pem", "-out", "\(name).pem")
        try dir.setMode("\(name)-key.pem", 0o600)
    }

    @Test func anOpenSSLMadeCALoads() throws {
        let dir = try TemporaryDirectory()
        try makeCA(dir, "good", extensions: ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign",
                                             "subjectKeyIdentifier = hash"])
        let ca = try CertificateAuthority.load(certificate: dir.path("good.pem"), key: dir.path("good-key.pem"))
        let leaf = try LeafMinter.mint(for: .dns("a.test"), by: ca, now: Int64(Date().timeIntervalSince1970))
        try dir.savePEM("leaf.pem", leaf.certificate.pem)
        #expect(try dir.openssl("verify", "-x509_strict", "-CAfile", "good.pem", "leaf.pem") == "leaf.pem: OK\n")
    }

    @Test func unusableCAFilesAreRefusedByNameAndReason() throws {
        let dir = try TemporaryDirectory()
        try makeCA(dir, "leaf", extensions: ["basicConstraints = critical,CA:FALSE", "subjectKeyIdentifier = hash"])
        try makeCA(dir, "nosign", extensions: ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,digitalSignature",
                                               "subjectKeyIdentifier = hash"])
        try makeCA(dir, "noski", extensions: ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign",
                                              "subjectKeyIdentifier = none"])
        try makeCA(dir, "good", extensions: ["basicConstraints = critical,CA:TRUE", "subjectKeyIdentifier = hash"])
        func refusal(_ certificate: String, _ key: String) -> CertificateFileError? {
            do {
                _ = try CertificateAuthority.load(certificate: dir.path(certificate), key: dir.path(key))
                return nil
            } catch {
                return error
            }
        }
        #expect(refusal("leaf.pem", "leaf-key.pem") == CertificateFileError(path: dir.path("leaf.pem"),
            reason: "not a CA certificate (it lacks basicConstraints CA:TRUE)"))
        #expect(refusal("nosign.pem", "nosign-key.pem") == CertificateFileError(path: dir.path("nosign.pem"),
            reason: "the CA certificate's keyUsage lacks keyCertSign, so it may not sign certificates"))
        #expect(refusal("noski.pem", "noski-key.pem") == CertificateFileError(path: dir.path("noski.pem"),
            reason: "the CA certificate has no subjectKeyIdentifier (each minted leaf names its issuer by it)"))
        #expect(refusal("good.pem", "leaf-key.pem") == CertificateFileError(path: dir.path("leaf-key.pem"),
            reason: "not the private key of the CA certificate in \(dir.path("good.pem"))"))
        try dir.setMode("good-key.pem", 0o644)
        #expect(refusal("good.pem", "good-key.pem") == CertificateFileError(path: dir.path("good-key.pem"),
            reason: "a private key must be readable by its owner only, but its mode is 0644 (chmod 600 it)"))
        #expect(refusal("missing.pem", "good-key.pem")?.description == "\(dir.path("missing.pem")): No such file or directory")
        try dir.setMode("good-key.pem", 0o600)
        #expect(refusal("good.pem", "good-key.pem") == nil)
    }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}
