import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `atpgate ca init` as operators run it: the real binary, its files and modes, its refusals, and what it
/// tells them (never the key).
@Suite("atpgate ca init")
struct CAInitCommandTests {
    private func caInit(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runCommand(ChildProxy.binaryPath, ["ca", "init"] + arguments)
    }

    private func openssl(_ arguments: String...) throws -> String {
        let result = try runCommand("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TestError("openssl \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    @Test("writes a private directory, a 0600 key and the certificate, and says how to trust the CA")
    func createsTheFiles() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("ca")
        let result = try caInit(["--out", out])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty)
        #expect(mode(out) == 0o700)
        #expect(mode(out + "/ca-key.pem") == 0o600)
        #expect(mode(out + "/ca.pem") == 0o644)
        let text = try openssl("x509", "-in", out + "/ca.pem", "-noout", "-text")
        #expect(text.contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"))
        #expect(text.contains("Certificate Sign, CRL Sign"))
        #expect(text.contains("Subject: CN = atpgate inspection CA"))
        #expect(!text.contains("Name Constraints"))
        #expect(try openssl("pkey", "-in", out + "/ca-key.pem", "-noout", "-text").contains("NIST CURVE: P-256"))

        let fingerprint = try openssl("x509", "-in", out + "/ca.pem", "-noout", "-fingerprint", "-sha256")
            .split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "?"
        for expected in [out + "/ca.pem", out + "/ca-key.pem", fingerprint, "certutil -addstore Root ca.pem",
                         "Public Key Policies > Trusted Root Certification Authorities",
                         "cp ca.pem /usr/local/share/ca-certificates/atpgate-inspection.crt && update-ca-certificates",
                         "must stay on the proxy host"] {
            #expect(result.stdout.contains(expected), "missing \(expected) in:\n\(result.stdout)")
        }
        #expect(!(result.stdout + result.stderr).contains("PRIVATE KEY"))
    }

    @Test("--permit, --name and --days shape the certificate")
    func permitNameAndDays() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("ca")
        let result = try caInit(["--out", out, "--permit", "contoso.test", "--permit", ".fabrikam.test",
                                 "--name", "Contoso inspection", "--days", "30"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let text = try openssl("x509", "-in", out + "/ca.pem", "-noout", "-text")
        #expect(text.contains("X509v3 Name Constraints: critical"))
        #expect(text.contains("Permitted:\n                  DNS:contoso.test\n                  DNS:.fabrikam.test"))
        #expect(text.contains("Subject: CN = Contoso inspection"))
        #expect(result.stdout.contains("only contoso.test, .fabrikam.test"))
        // Valid 30 days from now, not 31.
        #expect((try? openssl("x509", "-in", out + "/ca.pem", "-noout", "-checkend", String(29 * 86400))) != nil)
        #expect((try? openssl("x509", "-in", out + "/ca.pem", "-noout", "-checkend", String(31 * 86400))) == nil)
    }

    @Test("an existing ca-key.pem or ca.pem is never overwritten: exit 1, one line naming the file, nothing written")
    func refusesToOverwrite() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("ca")
        #expect(try caInit(["--out", out]).status == 0)
        let key = try Data(contentsOf: URL(fileURLWithPath: out + "/ca-key.pem"))
        let certificate = try Data(contentsOf: URL(fileURLWithPath: out + "/ca.pem"))
        let again = try caInit(["--out", out])
        #expect(again.status == 1)
        #expect(again.stderr == "error: \(out)/ca-key.pem: already exists; not overwritten (move it away to make a new CA)\n")
        #expect(again.stdout.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/ca-key.pem")) == key)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/ca.pem")) == certificate)

        try FileManager.default.removeItem(atPath: out + "/ca-key.pem")
        let certificateOnly = try caInit(["--out", out])
        #expect(certificateOnly.status == 1)
        #expect(certificateOnly.stderr.hasPrefix("error: \(out)/ca.pem: already exists"))
        #expect(!FileManager.default.fileExists(atPath: out + "/ca-key.pem"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/ca.pem")) == certificate)
    }

    @Test("a directory group or others may write to is refused; an existing private one is used as it is")
    func directoryChecks() throws {
        let directory = try TemporaryDirectory()
        let shared = directory.file("shared")
        #expect(mkdir(shared, 0o700) == 0 && chmod(shared, 0o777) == 0)
        let refused = try caInit(["--out", shared])
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains(shared), "stderr: \(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shared).isEmpty)
        #expect(chmod(shared, 0o755) == 0)
        #expect(try caInit(["--out", shared]).status == 0)
        #expect(mode(shared) == 0o755)
    }

    @Test("modes are exact whatever the umask")
    func modesIgnoreTheUmask() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("ca")
        let result = try runCommand("/bin/sh", ["-c", "umask 000 && exec \"$0\" ca init --out \"$1\"", ChildProxy.binaryPath, out])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(mode(out) == 0o700 && mode(out + "/ca-key.pem") == 0o600 && mode(out + "/ca.pem") == 0o644)
    }

    @Test("bad arguments are usage errors (ArgumentParser's status), with nothing written")
    func usageErrors() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("ca")
        for arguments in [[String](), ["--out", out, "--permit", "not a domain"], ["--out", out, "--days", "0"]] {
            let result = try caInit(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
