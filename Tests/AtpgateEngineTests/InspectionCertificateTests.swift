import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine
import AtpgateTLS

/// The leaves an inspecting proxy presents, read off the wire with `openssl s_client -proxy -showcerts` and
/// checked with the real `openssl`; the CA files reloaded like the policy.
@Suite("TLS inspection: minted leaves and CA reload", .serialized)
struct InspectionCertificateTests {
    /// A running proxy on a policy FILE (so it reloads), its reloader, and the fixture's certificates.
    final class Setup: @unchecked Sendable {
        let fixture: InspectionFixture
        let upstream: TLSServer
        let proxy: ProxyHarness
        let reloader: PolicyReloader
        let log = CapturedLog()

        init() throws {
            fixture = try InspectionFixture()
            upstream = try fixture.upstream()
            let path = try fixture.directory.write("policy.yaml",
                                                   fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
            proxy = try ProxyHarness(policyFile: path)
            reloader = PolicyReloader(path: path, server: proxy.server, logger: log.logger, debounce: 0.05)
            reloader.start()
        }

        deinit { reloader.stop() }

        /// The leaf the proxy presents for upstream.test (the first certificate s_client shows), as PEM in a file.
        func presentedLeaf(name: String = "presented.pem") throws -> String {
            let result = try HelloPeekTests.sClient(proxy: proxy.port, connect: "upstream.test:\(upstream.port)",
                                                    ["-servername", "upstream.test", "-showcerts",
                                                     "-cert", fixture.file("dc01.pem"), "-key", fixture.file("dc01-key.pem")],
                                                    brief: false)
            guard let begin = result.output.range(of: "-----BEGIN CERTIFICATE-----"),
                  let end = result.output.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<result.output.endIndex) else {
                throw TestError("no certificate in s_client's output: \(result.output.prefix(600))")
            }
            return try fixture.directory.write(name, String(result.output[begin.lowerBound..<end.upperBound]) + "\n")
        }

        func openssl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try runCommand("/usr/bin/openssl", arguments)
        }

        /// `openssl verify -x509_strict` of `leaf` against the CA in `caFile`.
        func verifies(_ leaf: String, against caFile: String) throws -> Bool {
            try openssl(["verify", "-x509_strict", "-CAfile", caFile, leaf]).status == 0
        }
    }

    @Test("the leaf for the CONNECT host: its SAN, CA:FALSE, serverAuth, at most 30 days, and it verifies strictly")
    func mintedLeaf() throws {
        let setup = try Setup()
        let leaf = try setup.presentedLeaf()
        let text = try setup.openssl(["x509", "-in", leaf, "-noout", "-ext", "subjectAltName,basicConstraints,extendedKeyUsage",
                                      "-startdate", "-enddate"]).stdout
        #expect(text.contains("DNS:upstream.test"), "\(text)")
        #expect(text.contains("CA:FALSE"), "\(text)")
        #expect(text.contains("TLS Web Server Authentication"), "\(text)")
        #expect(try setup.openssl(["x509", "-in", leaf, "-noout", "-checkend", String(30 * 86400)]).status != 0,
                "valid for more than 30 days")
        #expect(try setup.verifies(leaf, against: setup.fixture.inspectorCA))
        #expect(try !setup.verifies(leaf, against: setup.fixture.file("upstream-ca.pem")))
        // The same host again: the cached leaf.
        let again = try setup.presentedLeaf(name: "again.pem")
        #expect(try String(contentsOfFile: again, encoding: .utf8) == String(contentsOfFile: leaf, encoding: .utf8))
    }

    @Test("a new CA in place of the old: new leaves are signed by it; a broken key keeps the CA in force")
    func caReload() throws {
        let setup = try Setup()
        let first = try setup.presentedLeaf(name: "first.pem")
        #expect(try setup.verifies(first, against: setup.fixture.inspectorCA))
        let oldCA = try setup.fixture.directory.write("old-ca.pem", String(contentsOfFile: setup.fixture.inspectorCA, encoding: .utf8))

        // A key file that is not a key: the reload fails with file: reason and the old CA stays.
        try "not a key\n".write(toFile: setup.fixture.inspectorKey, atomically: false, encoding: .utf8)
        #expect(eventually { setup.log.messages.value.contains { $0.contains("policy reload failed") && $0.contains("ca-key.pem: ") } },
                "\(setup.log.messages.value)")
        #expect(try setup.verifies(try setup.presentedLeaf(name: "kept.pem"), against: oldCA))

        // A whole new CA written over both files: new connections get leaves from it.
        let fresh = try CertificateAuthority.create(commonName: "atpgate test inspection CA 2")
        try fresh.key.pem.write(toFile: setup.fixture.inspectorKey, atomically: false, encoding: .utf8)
        try fresh.certificate.pem.write(toFile: setup.fixture.inspectorCA, atomically: false, encoding: .utf8)
        #expect(eventually {
            guard let leaf = try? setup.presentedLeaf(name: "after.pem") else { return false }
            return (try? setup.verifies(leaf, against: setup.fixture.inspectorCA)) == true
        })
        let after = try setup.presentedLeaf(name: "after.pem")
        #expect(try !setup.verifies(after, against: oldCA))
    }
}
