import COpenSSL
import Foundation
import Testing
@testable import AtpgateTLS

/// Leaves minted for CONNECT hosts, each checked by the real `openssl`: the chain verifies strictly and the
/// extensions are what clients (SChannel included) expect of a server certificate.
@Suite("Leaf minting")
struct LeafMintingTests {
    static let now = Int64(Date().timeIntervalSince1970)

    @Test func aDNSLeafVerifiesAndNamesTheHost() throws {
        let dir = try TemporaryDirectory()
        let ca = try CertificateAuthority.create()
        let leaf = try LeafMinter.mint(for: .dns("dc01.contoso.test"), by: ca, now: Self.now)
        try dir.savePEM("ca.pem", ca.certificate.pem)
        try dir.savePEM("leaf.pem", leaf.certificate.pem)
        #expect(try dir.openssl("verify", "-x509_strict", "-CAfile", "ca.pem", "-verify_hostname", "dc01.contoso.test", "leaf.pem")
                == "leaf.pem: OK\n")
        let extensions = try dir.extensions(of: "leaf.pem")
        #expect(extensions["X509v3 Subject Alternative Name"] == "DNS:dc01.contoso.test")
        #expect(extensions["X509v3 Basic Constraints: critical"] == "CA:FALSE")
        #expect(extensions["X509v3 Key Usage: critical"] == "Digital Signature")
        #expect(extensions["X509v3 Extended Key Usage"] == "TLS Web Server Authentication")
        let caExtensions = try dir.extensions(of: "ca.pem")
        let caKeyID = try #require(caExtensions["X509v3 Subject Key Identifier"])
        #expect(extensions["X509v3 Authority Key Identifier"] == caKeyID)
        let leafKeyID = try #require(extensions["X509v3 Subject Key Identifier"])
        #expect(leafKeyID != caKeyID, "a leaf carrying its issuer's SKI breaks SChannel")
        #expect(leaf.certificate.subject == "CN=dc01.contoso.test")
        #expect(leaf.certificate.issuer == ca.certificate.subject)
        #expect(try dir.openssl("x509", "-in", "leaf.pem", "-noout", "-text").contains("ecdsa-with-SHA256"))
        #expect(leaf.chain.map(\.sha256Hex) == [leaf.certificate.sha256Hex, ca.identity])
    }

    @Test(arguments: [("192.0.2.7", [UInt8]([192, 0, 2, 7]), "IP Address:192.0.2.7"),
                      ("2001:db8::1", [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1],
                       "IP Address:2001:DB8:0:0:0:0:0:1")])
    func anIPLeafVerifiesAndNamesTheAddress(text: String, bytes: [UInt8], expected: String) throws {
        let dir = try TemporaryDirectory()
        let ca = try CertificateAuthority.create()
        let leaf = try LeafMinter.mint(for: .ip(bytes), by: ca, now: Self.now)
        try dir.savePEM("ca.pem", ca.certificate.pem)
        try dir.savePEM("leaf.pem", leaf.certificate.pem)
        #expect(try dir.openssl("verify", "-x509_strict", "-CAfile", "ca.pem", "-verify_ip", text, "leaf.pem") == "leaf.pem: OK\n")
        #expect(try dir.extensions(of: "leaf.pem")["X509v3 Subject Alternative Name"] == expected)
        #expect(leaf.certificate.subjectCommonName == text)
    }

    @Test func aHostTooLongForACommonNameGoesInACriticalSubjectAltName() throws {
        let dir = try TemporaryDirectory()
        let ca = try CertificateAuthority.create()
        let host = String(repeating: "a", count: 60) + ".contoso.test"
        let leaf = try LeafMinter.mint(for: .dns(host), by: ca, now: Self.now)
        try dir.savePEM("ca.pem", ca.certificate.pem)
        try dir.savePEM("leaf.pem", leaf.certificate.pem)
        #expect(try dir.openssl("verify", "-x509_strict", "-CAfile", "ca.pem", "-verify_hostname", host, "leaf.pem") == "leaf.pem: OK\n")
        #expect(leaf.certificate.subjectCommonName == nil)
        #expect(try dir.extensions(of: "leaf.pem")["X509v3 Subject Alternative Name: critical"] == "DNS:\(host)")
    }

    @Test func validityStartsAnHourBackAndLastsThirtyDays() throws {
        let ca = try CertificateAuthority.create()
        let leaf = try LeafMinter.mint(for: .dns("a.test"), by: ca, now: Self.now)
        #expect(leaf.certificate.notBefore == Self.now - 3600)
        #expect(leaf.certificate.notAfter == Self.now - 3600 + 30 * 86400)
        #expect(leaf.notAfter == leaf.certificate.notAfter)
    }

    @Test func validityEndsWithACAThatExpiresSooner() throws {
        let dir = try TemporaryDirectory()
        let ca = try CertificateAuthority.create(validityDays: 2)
        let leaf = try LeafMinter.mint(for: .dns("a.test"), by: ca, now: Self.now)
        #expect(leaf.certificate.notAfter == ca.certificate.notAfter)
        #expect(leaf.notAfter == ca.certificate.notAfter)
        try dir.savePEM("ca.pem", ca.certificate.pem)
        try dir.savePEM("leaf.pem", leaf.certificate.pem)
        #expect(try dir.openssl("verify", "-x509_strict", "-CAfile", "ca.pem", "leaf.pem") == "leaf.pem: OK\n")
    }

    @Test func anExpiredCAMintsNothing() throws {
        let ca = try CertificateAuthority.create(validityDays: 10, now: Self.now - 11 * 86400)
        #expect(throws: OpenSSLError.self) { try LeafMinter.mint(for: .dns("a.test"), by: ca, now: Self.now) }
    }

    @Test func serialsAreSixteenPositiveDistinctBytes() throws {
        let ca = try CertificateAuthority.create()
        var seen = Set<[UInt8]>()
        for index in 0..<50 {
            let leaf = try LeafMinter.mint(for: .dns("host\(index).test"), by: ca, now: Self.now)
            let der = serialDER(leaf.certificate)
            // INTEGER, 16 content bytes, the first below 0x80 (positive, no padding byte).
            #expect(der.count == 18 && der[0] == 0x02 && der[1] == 16 && der[2] < 0x80, "serial \(der)")
            #expect(der.dropFirst(2).contains { $0 != 0 })
            seen.insert(der)
        }
        #expect(seen.count == 50)
        let dir = try TemporaryDirectory()
        try dir.savePEM("leaf.pem", try LeafMinter.mint(for: .dns("a.test"), by: ca, now: Self.now).certificate.pem)
        let serial = try dir.openssl("x509", "-in", "leaf.pem", "-noout", "-serial")
        #expect(serial.hasPrefix("serial=") && serial.count == "serial=".count + 32 + 1, "\(serial)")
    }

    @Test func eachLeafHasItsOwnP256Key() throws {
        let ca = try CertificateAuthority.create()
        let first = try LeafMinter.mint(for: .dns("a.test"), by: ca, now: Self.now)
        let second = try LeafMinter.mint(for: .dns("a.test"), by: ca, now: Self.now)
        #expect(first.key.matches(first.certificate) && second.key.matches(second.certificate))
        #expect(!first.key.matches(second.certificate))
        #expect(!ca.key.matches(first.certificate))
        let dir = try TemporaryDirectory()
        try dir.savePEM("leaf.pem", first.certificate.pem)
        #expect(try dir.openssl("x509", "-in", "leaf.pem", "-noout", "-text").contains("NIST CURVE: P-256"))
    }

    @Test func nameConstraintsBindTheLeaves() throws {
        let dir = try TemporaryDirectory()
        let ca = try CertificateAuthority.create(permittedDNS: ["contoso.test"])
        try dir.savePEM("ca.pem", ca.certificate.pem)
        try dir.savePEM("inside.pem", try LeafMinter.mint(for: .dns("a.contoso.test"), by: ca, now: Self.now).certificate.pem)
        try dir.savePEM("outside.pem", try LeafMinter.mint(for: .dns("evil.example"), by: ca, now: Self.now).certificate.pem)
        try dir.savePEM("address.pem", try LeafMinter.mint(for: .ip([192, 0, 2, 7]), by: ca, now: Self.now).certificate.pem)
        #expect(try dir.openssl("verify", "-x509_strict", "-CAfile", "ca.pem", "inside.pem") == "inside.pem: OK\n")
        for refused in ["outside.pem", "address.pem"] {
            do {
                try dir.openssl("verify", "-x509_strict", "-CAfile", "ca.pem", refused)
                Issue.record("\(refused) verified under a name-constrained CA")
            } catch let failure as ToolFailure {
                #expect(failure.output.contains("subtree violation"), "\(failure.output)")
            }
        }
    }

    @Test func hostsThatCannotBeNamedAreRefused() throws {
        let ca = try CertificateAuthority.create()
        for host: LeafHost in [.dns("a b.test"), .dns(""), .dns("a..test"), .dns("a,DNS:evil.test"), .ip([1, 2, 3])] {
            #expect(throws: OpenSSLError.self, "\(host)") { try LeafMinter.mint(for: host, by: ca, now: Self.now) }
        }
    }

    /// The DER of a certificate's serialNumber INTEGER.
    private func serialDER(_ certificate: Certificate) -> [UInt8] {
        let serial = X509_get0_serialNumber(certificate.x509)
        let length = i2d_ASN1_INTEGER(serial, nil)
        var bytes = [UInt8](repeating: 0, count: Int(max(length, 0)))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_ASN1_INTEGER(serial, &cursor)
        }
        return bytes
    }
}

extension TemporaryDirectory {
    /// Writes PEM text (certificates only: keys go through files made with owner-only modes).
    func savePEM(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    /// `openssl x509 -noout -ext …` of a PEM file as heading ("X509v3 Basic Constraints: critical") → value
    /// (the indented lines, joined with ", ").
    func extensions(of name: String) throws -> [String: String] {
        let text = try openssl("x509", "-in", name, "-noout", "-ext",
                               "subjectAltName,basicConstraints,extendedKeyUsage,keyUsage,authorityKeyIdentifier,subjectKeyIdentifier,nameConstraints")
        var result: [String: String] = [:]
        var heading: String?
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.first == " ", let heading {
                result[heading] = result[heading].map { "\($0), \(trimmed)" } ?? trimmed
            } else {
                // "X509v3 Subject Key Identifier: " (no criticality) loses its colon; ": critical" stays.
                heading = trimmed.hasSuffix(":") ? String(trimmed.dropLast()) : trimmed
            }
        }
        return result
    }
}
