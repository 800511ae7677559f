import Foundation
import Testing
@testable import AtpgateEngine

/// TLS inspection end to end (issue 11): real curl with a client certificate → atpgate (inspecting) →
/// a real `openssl s_server` that requires a client certificate; refusals at each step.
@Suite("TLS inspection", .serialized)
struct InspectionTests {
    @Test("curl with the sensor's certificate reaches an upstream that requires the mapped one; the log names both")
    func mutualOnBothLegs() throws {
        let fixture = try InspectionFixture()
        let upstream = try fixture.upstream()
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
        let result = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/status?x=1")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finalStatus(result.stdout) == 200, "\(result.stdout.prefix(200))")
        // s_server -www prints the client certificate it verified: the mapped one, not the sensor's.
        #expect(result.stdout.contains("CN=DC01-upstream") || result.stdout.contains("CN = DC01-upstream"))
        let log = proxy.waitForLog(count: 2)
        let inner = try #require(log.first { $0.method == "GET" })
        #expect(inner.target == "https://upstream.test:\(upstream.port)/status?x=1")
        #expect(inner.status == 200)
        #expect(inner.decision == "allow")
        #expect(inner.bytesDown > 0)
        #expect(inner.upstream == "127.0.0.1:\(upstream.port)")
        #expect(inner.inspection?.clientSubject == "CN=DC01.contoso.test")
        #expect(inner.inspection?.clientVerified == true)
        #expect(inner.inspection?.upstreamClientSubject == "CN=DC01-upstream")
        #expect(inner.inspection?.upstreamServerSubject == "CN=upstream.test")
        let connect = try #require(log.first { $0.method == "CONNECT" })
        #expect(connect.decision == "allow")
        #expect(connect.status == 200)
        #expect(connect.error == nil)
        #expect(connect.inspection?.clientSubject == "CN=DC01.contoso.test")
        #expect(connect.upstream == "127.0.0.1:\(upstream.port)")
    }

    @Test("the upstream sees the request line: s_server -WWW serves the file the inner path names")
    func requestLineReachesUpstream() throws {
        let fixture = try InspectionFixture()
        _ = try fixture.directory.write("served.txt", "served by the upstream\n")
        let upstream = try fixture.upstream(arguments: ["-WWW"])
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
        let result = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/served.txt")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasSuffix("served by the upstream\n"), "\(result.stdout)")
    }

    @Test("no client certificate, or one from another CA: refused at the handshake, no upstream connection")
    func clientRefusals() throws {
        let fixture = try InspectionFixture()
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
        for (client, token) in [(nil, "client-cert-required"), ("rogue", "client-cert-invalid")] as [(String?, String)] {
            let before = proxy.log.count
            let result = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/", client: client)
            #expect(result.status != 0, "curl with \(client ?? "no certificate") got through")
            let log = proxy.waitForLog(count: before + 1)
            let connect = try #require(log.dropFirst(before).first)
            #expect(connect.method == "CONNECT")
            #expect(connect.decision == "deny")
            #expect(connect.error == token, "\(client ?? "none"): \(connect.error ?? "nil")")
            #expect(connect.rule == "inspection.clients")
        }
        #expect(upstream.acceptedCount == 0, "the upstream was dialled for a client that was not verified")
    }

    @Test("an upstream with the wrong name, or a chain the trust bundle does not hold: 502 upstream-cert-invalid")
    func upstreamCertificateRefusals() throws {
        let fixture = try InspectionFixture()
        for certificate in ["other", "selfsigned"] {
            let upstream = try fixture.upstream(certificate: certificate)
            let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
            let result = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/")
            #expect(finalStatus(result.stdout) == 502, "\(certificate): \(result.stdout.prefix(300)) \(result.stderr)")
            #expect(result.stdout.lowercased().contains("x-atpgate-error: upstream-cert-invalid"), "\(certificate)")
            let inner = try #require(proxy.waitForLog(count: 2).first { $0.method == "GET" })
            #expect(inner.error == "upstream-cert-invalid")
        }
    }

    @Test("an upstream that refuses the mapped certificate (TLS 1.3 and 1.2): 502 upstream-client-cert-rejected")
    func upstreamRejectsTheClientCertificate() throws {
        let fixture = try InspectionFixture()
        let stranger = """
              - match: default
                cert: \(fixture.file("stranger-up.pem"))
                key: \(fixture.file("stranger-up-key.pem"))

        """
        for version in ["-tls1_3", "-tls1_2"] {
            let upstream = try fixture.upstream(arguments: ["-www", version])
            let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"], clientCerts: stranger))
            let result = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/")
            #expect(finalStatus(result.stdout) == 502, "\(version): \(result.stdout.prefix(300)) \(result.stderr)")
            #expect(result.stdout.lowercased().contains("x-atpgate-error: upstream-client-cert-rejected"), "\(version): \(result.stdout.prefix(400))")
        }
    }

    @Test("inside the tunnel: a Host that differs is 421, a path outside the https:// rules is 403")
    func innerRequestsDecidedAgain() throws {
        let fixture = try InspectionFixture()
        let upstream = try fixture.upstream()
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/allowed/*"]))
        let allowed = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/allowed/x")
        #expect(finalStatus(allowed.stdout) == 200, "\(allowed.stdout.prefix(200)) \(allowed.stderr)")
        let denied = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/elsewhere")
        #expect(finalStatus(denied.stdout) == 403, "\(denied.stdout.prefix(300))")
        #expect(denied.stdout.lowercased().contains("x-atpgate-error: denied"))
        let misdirected = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/allowed/x",
                                           extra: ["-H", "Host: other.test:\(upstream.port)"])
        #expect(finalStatus(misdirected.stdout) == 421, "\(misdirected.stdout.prefix(300))")
        #expect(misdirected.stdout.lowercased().contains("x-atpgate-error: misdirected-request"))
        let log = proxy.waitForLog(count: 6)
        let inner = log.filter { $0.method == "GET" }
        #expect(inner.map(\.status).sorted() == [200, 403, 421])
    }

    @Test("a HOST:PORT rule for an inspected host allows every path inside")
    func targetRuleAllowsEveryPath() throws {
        let fixture = try InspectionFixture()
        let upstream = try fixture.upstream()
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["upstream.test:\(upstream.port)",
                                                                    "https://upstream.test:\(upstream.port)/only/*"]))
        let result = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/anything/else")
        #expect(finalStatus(result.stdout) == 200, "\(result.stdout.prefix(200)) \(result.stderr)")
        let inner = try #require(proxy.waitForLog(count: 2).first { $0.method == "GET" })
        #expect(inner.rule?.hasPrefix("test.yaml:") == true)
    }

    @Test("with the ClientHello peek on the port: the SNI is checked first, then the client is verified")
    func peekThenInspect() throws {
        let fixture = try InspectionFixture()
        let upstream = try fixture.upstream()
        let probe = try TestServer.echo()
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*",
                                                                    "https://other.test:\(probe.port)/*"],
                                                            extra: "tls: {sni: enforce, ports: [\(upstream.port), \(probe.port)]}\n"))
        let result = try fixture.curl(proxyPort: proxy.port, "https://upstream.test:\(upstream.port)/")
        #expect(finalStatus(result.stdout) == 200, "\(result.stderr)")
        let connect = try #require(proxy.waitForLog(count: 2).first { $0.method == "CONNECT" })
        #expect(connect.tls?.sni == "upstream.test")
        #expect(connect.inspection?.clientVerified == true)
        // A hello naming another host than the CONNECT: refused by the peek, before any certificate.
        let before = proxy.log.count
        let refused = try HelloPeekTests.sClient(proxy: proxy.port, connect: "other.test:\(probe.port)",
                                                 ["-servername", "upstream.test", "-cert", fixture.file("dc01.pem"),
                                                  "-key", fixture.file("dc01-key.pem")])
        #expect(refused.status != 0)
        let line = try #require(proxy.waitForLog(count: before + 1).dropFirst(before).first)
        #expect(line.error == "sni-mismatch")
        #expect(line.rule == "tls.sni")
        #expect(probe.acceptedCount == 0)
    }

    @Test("inside the tunnel, anything but HTTP/1.1 is closed with a logged reason", arguments: [
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",      // the HTTP/2 preface
        "GET / HTTP/1.0\r\nHost: upstream.test\r\n\r\n",
        "\u{16}\u{03}\u{01}garbage\r\n\r\n",
    ])
    func notHTTP11(_ firstBytes: String) throws {
        let fixture = try InspectionFixture()
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
        // openssl s_client sends stdin once the handshake is done and (-ign_eof) waits for the proxy to close.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-quiet", "-ign_eof", "-proxy", "127.0.0.1:\(proxy.port)",
                             "-connect", "upstream.test:\(upstream.port)", "-servername", "upstream.test",
                             "-cert", fixture.file("dc01.pem"), "-key", fixture.file("dc01-key.pem")]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { TLSServer.kill(process) }
        input.fileHandleForWriting.write(Data(firstBytes.utf8))
        let log = proxy.waitForLog(count: 2)
        let inner = try #require(log.first { $0.method != "CONNECT" }, "\(log.map { ($0.method, $0.error) })")
        #expect(inner.error == "not-http1.1")
        #expect(inner.inspection?.clientVerified == true)
        #expect(upstream.acceptedCount == 0)
    }

    @Test("requests in one tunnel share the upstream connection")
    func keepAliveInsideTheTunnel() throws {
        let fixture = try InspectionFixture()
        let upstream = try NodeHTTPSServer(certificate: fixture.file("upstream.pem"), key: fixture.file("upstream-key.pem"),
                                           clientCA: fixture.file("cloud-ca.pem"))
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
        let base = "https://upstream.test:\(upstream.port)"
        let result = try fixture.curl(proxyPort: proxy.port, "\(base)/one", extra: ["\(base)/two"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""line":"GET /one","cn":"DC01-upstream","connection":1"#), "\(result.stdout)")
        #expect(result.stdout.contains(#""line":"GET /two","cn":"DC01-upstream","connection":1"#), "\(result.stdout)")
        let log = proxy.waitForLog(count: 3)
        #expect(log.filter { $0.method == "GET" }.map(\.status) == [200, 200])
        #expect(log.filter { $0.method == "CONNECT" }.count == 1)
    }

    @Test("an upstream connection the server closed while idle: the next request goes on a new one")
    func upstreamClosedWhileIdle() throws {
        let fixture = try InspectionFixture()
        let upstream = try NodeHTTPSServer(certificate: fixture.file("upstream.pem"), key: fixture.file("upstream-key.pem"),
                                           clientCA: fixture.file("cloud-ca.pem"))
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"]))
        // openssl s_client keeps the client's connection; the second request goes after node closed the
        // upstream connection the first one used (100 ms after answering it).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-quiet", "-ign_eof", "-proxy", "127.0.0.1:\(proxy.port)",
                             "-connect", "upstream.test:\(upstream.port)", "-servername", "upstream.test",
                             "-cert", fixture.file("dc01.pem"), "-key", fixture.file("dc01-key.pem")]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { TLSServer.kill(process) }
        let request = { (path: String) in Data("GET \(path) HTTP/1.1\r\nHost: upstream.test:\(upstream.port)\r\n\r\n".utf8) }
        input.fileHandleForWriting.write(request("/first-close-later"))
        #expect(eventually { proxy.log.count >= 1 })
        usleep(600_000)
        input.fileHandleForWriting.write(request("/second"))
        #expect(eventually { proxy.log.count >= 2 })
        TLSServer.kill(process)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains(#""line":"GET /first-close-later","cn":"DC01-upstream","connection":1"#), "\(text)")
        #expect(text.contains(#""line":"GET /second","cn":"DC01-upstream","connection":2"#), "\(text)")
        #expect(proxy.log.filter { $0.method == "GET" }.map(\.status) == [200, 200])
    }

    @Test("a client that never finishes its handshake is cut at timeouts.head; the upstream is never dialled",
          arguments: [false, true])
    func handshakeBoundedByHeadTimeout(peeked: Bool) throws {
        let fixture = try InspectionFixture()
        let upstream = try TestServer.echo()
        let tls = peeked ? "tls: {sni: enforce, ports: [\(upstream.port)]}\n" : ""
        let proxy = try ProxyHarness(policy: fixture.policy(allow: ["https://upstream.test:\(upstream.port)/*"],
                                                            extra: "timeouts: {head: 1s}\n" + tls))
        // Half a TLS record header, then silence.
        let socket = try proxy.openTunnel(to: "upstream.test:\(upstream.port)", extra: [0x16, 0x03])
        let line = try #require(proxy.waitForLog(count: 1).first)
        #expect(line.error == (peeked ? "hello-timeout" : "client-tls-timeout"))
        #expect(line.decision == "deny")
        #expect(upstream.acceptedCount == 0)
        _ = socket
    }
}

/// The status of the last response in curl's `-i` output (the proxy's own "200 Connection established"
/// comes first).
func finalStatus(_ output: String) -> Int? {
    let lines = output.components(separatedBy: "\r\n").filter { $0.hasPrefix("HTTP/") }
    guard let last = lines.last else { return nil }
    let parts = last.split(separator: " ")
    return parts.count > 1 ? Int(parts[1]) : nil
}
