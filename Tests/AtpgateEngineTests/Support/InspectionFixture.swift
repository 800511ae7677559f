import Foundation
#if canImport(Glibc)
import Glibc
#endif
import AtpgateTLS

/// The certificates of an inspection test, made with the real `openssl` (and the inspector CA with
/// atpgate's own code, as `atpgate ca init` makes it):
/// - the inspector CA (`ca.pem`) that signs minted leaves; curl trusts it;
/// - the sensors' CA and a sensor certificate `CN=DC01.contoso.test` (what the proxy verifies), and a
///   certificate with the same name from another CA (`rogue`);
/// - the upstream's server CA and certificates for `upstream.test` and `other.test`, and a self-signed one
///   for `upstream.test` that chains to nothing the proxy trusts;
/// - the cloud's client CA and the mapped upstream client certificate `CN=DC01-upstream` (what the
///   upstream verifies), and one from another CA (`DC01-stranger`).
final class InspectionFixture: @unchecked Sendable {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
        let ca = try CertificateAuthority.create(commonName: "atpgate test inspection CA")
        _ = try ca.write(toDirectory: directory.file("inspector"))
        try makeCA("sensors-ca")
        try makeCA("other-ca")
        try makeCA("upstream-ca")
        try makeCA("cloud-ca")
        try makeCA("stranger-ca")
        try issue("dc01", subject: "/CN=DC01.contoso.test", by: "sensors-ca", extensions: "extendedKeyUsage=clientAuth")
        try issue("rogue", subject: "/CN=DC01.contoso.test", by: "other-ca", extensions: "extendedKeyUsage=clientAuth")
        try issue("upstream", subject: "/CN=upstream.test", by: "upstream-ca", extensions: "subjectAltName=DNS:upstream.test")
        try issue("other", subject: "/CN=other.test", by: "upstream-ca", extensions: "subjectAltName=DNS:other.test")
        try issue("dc01-up", subject: "/CN=DC01-upstream", by: "cloud-ca", extensions: "extendedKeyUsage=clientAuth")
        try issue("stranger-up", subject: "/CN=DC01-stranger", by: "stranger-ca", extensions: "extendedKeyUsage=clientAuth")
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", file("selfsigned-key.pem"), "-out", file("selfsigned.pem"), "-days", "2",
                     "-subj", "/CN=upstream.test", "-addext", "subjectAltName=DNS:upstream.test"])
        for name in ["sensors-ca", "other-ca", "upstream-ca", "cloud-ca", "stranger-ca", "dc01", "rogue", "upstream", "other",
                     "dc01-up", "stranger-up", "selfsigned"] {
            chmod(file("\(name)-key.pem"), 0o600)
        }
    }

    func file(_ name: String) -> String { directory.file(name) }
    var inspectorCA: String { file("inspector/ca.pem") }
    var inspectorKey: String { file("inspector/ca-key.pem") }

    /// An upstream `openssl s_server` for `upstream.test` (or `certificate`) that requires a client
    /// certificate from the cloud CA. `-www` answers with a page naming the client certificate it saw.
    func upstream(certificate: String = "upstream", arguments: [String] = ["-www"]) throws -> TLSServer {
        try TLSServer(certificate: file("\(certificate).pem"), key: file("\(certificate)-key.pem"),
                      arguments: ["-Verify", "1", "-verify_return_error", "-CAfile", file("cloud-ca.pem")] + arguments,
                      keeping: directory)
    }

    /// The policy: `allow` rules, upstream.test (and other.test) on 127.0.0.1, inspection of upstream.test
    /// with the sensors' CA, the upstream CA as the trust bundle, and DC01* mapped to DC01-upstream.
    func policy(allow: [String], clientCerts: String? = nil, extra: String = "") -> String {
        let mapping = clientCerts ?? """
              - match: {subject_cn: "DC01*"}
                cert: \(file("dc01-up.pem"))
                key: \(file("dc01-up-key.pem"))

        """
        return loopbackPolicy(allow: allow, hosts: ["upstream.test": "127.0.0.1", "other.test": "127.0.0.1"], extra: """
        inspection:
          hosts: ["upstream.test", "other.test"]
          ca: {cert: \(inspectorCA), key: \(inspectorKey)}
          clients: {ca: \(file("sensors-ca.pem")), require: true}
          upstream:
            trust: \(file("upstream-ca.pem"))
            client_certs:
        \(mapping)
        """ + extra)
    }

    /// curl through the proxy to `url` with the sensor's certificate (`client`: "dc01", "rogue", or nil
    /// for none), trusting the inspector CA; `-i` so the answer's headers (X-Atpgate-Error) are in stdout.
    func curl(proxyPort: UInt16, _ url: String, client: String? = "dc01", extra: [String] = []) throws
        -> (status: Int32, stdout: String, stderr: String) {
        var arguments = ["-i", "--cacert", inspectorCA]
        if let client { arguments += ["--cert", file("\(client).pem"), "--key", file("\(client)-key.pem")] }
        return try AtpgateEngineTests.curl(proxyPort: proxyPort, arguments + extra + [url])
    }

    private func makeCA(_ name: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", file("\(name)-key.pem"), "-out", file("\(name).pem"), "-days", "2", "-subj", "/CN=\(name)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func issue(_ name: String, subject: String, by ca: String, extensions: String) throws {
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", file("\(name)-key.pem"), "-out", file("\(name).csr"), "-subj", subject])
        let extfile = try directory.write("\(name).ext", extensions + "\n")
        try openssl(["x509", "-req", "-in", file("\(name).csr"), "-CA", file("\(ca).pem"), "-CAkey", file("\(ca)-key.pem"),
                     "-CAcreateserial", "-out", file("\(name).pem"), "-days", "2", "-extfile", extfile])
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try runCommand("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TestError("openssl \(arguments.joined(separator: " ")): \(result.stderr)") }
    }
}
