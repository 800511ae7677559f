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

/// A scratch directory removed at the end of the test, with the real `openssl` run inside it.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("atpgate-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func setMode(_ name: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path(name))
    }

    /// Runs `openssl ARGS` in the directory; throws with its stderr when it fails.
    @discardableResult
    func openssl(_ arguments: String...) throws -> String {
        try run("/usr/bin/openssl", arguments)
    }

    /// `openssl x509 -fingerprint -sha256` of a PEM file, as lower-case hex without colons.
    func fingerprint(_ name: String) throws -> String {
        let out = try openssl("x509", "-in", name, "-noout", "-fingerprint", "-sha256")
        return String(out.split(separator: "=").last ?? "").replacingOccurrences(of: ":", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = url
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolFailure(command: ([executable] + arguments).joined(separator: " "),
                              output: String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    let command: String
    let output: String
    var description: String { "\(command) failed: \(output)" }
}
