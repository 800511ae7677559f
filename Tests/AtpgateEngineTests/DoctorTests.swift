import AtpgateDoctor
import AtpgateNet
import Testing

/// `atpgate doctor` as operators run it: the real binary against a real TLS server on loopback
/// (`openssl s_server -WWW` serving the sensor's ping file), every endpoint of the policy mapped to it
/// with --connect-to, so a pass is a real exit 0.
@Suite("atpgate doctor")
struct DoctorTests {
    typealias Fixture = DoctorFixture
    static let sensorRow = Fixture.sensor + ":443"

    @Test("a passing server: exit 0, the ping's version; then the server stopped: exit 1 at connect")
    func passThenStopped() throws {
        let fixture = try Fixture()
        let policy = try fixture.policy()
        var server: TLSServer? = try fixture.server()
        let port = server!.port
        let arguments = ["--policy", policy, "--cafile", fixture.file("ca.pem")] + Fixture.connectTo(port: port)

        let passing = try fixture.doctor(arguments)
        #expect(passing.status == 0, "stdout:\n\(passing.stdout)\nstderr: \(passing.stderr)")
        let address = "127.0.0.1:\(port)"
        #expect(Fixture.row(passing.stdout, Self.sensorRow)
                == "\(Self.sensorRow) sensor \(address) ping ok: version \(Fixture.version) (TLSv1.3)")
        #expect(Fixture.row(passing.stdout, Fixture.location + ":443")?.contains("ping ok: version \(Fixture.version)") == true)
        #expect(Fixture.row(passing.stdout, Fixture.console + ":443")?.hasPrefix("\(Fixture.console):443 console \(address) tls ok: TLSv1.3") == true)
        #expect(Fixture.row(passing.stdout, Fixture.crl + ":80") == "\(Fixture.crl):80 crl \(address) connect ok: TCP connected (plain HTTP: nothing fetched)")
        #expect(Fixture.row(passing.stdout, "*.endpoint.security.microsoft.com:443")
                == "*.endpoint.security.microsoft.com:443 modern - - not checkable: wildcard (no single name)")
        #expect(passing.stdout.contains("5 endpoints: 4 passed, 0 failed, 1 not checkable by name"))
        #expect(passing.stdout.split(separator: "\n").allSatisfy { $0.count <= DoctorReport.width })

        server = nil   // SIGKILL and reaped: the port now refuses
        let stopped = try fixture.doctor(arguments)
        #expect(stopped.status == 1, "stdout:\n\(stopped.stdout)")
        #expect(Fixture.row(stopped.stdout, Self.sensorRow) == "\(Self.sensorRow) sensor \(address) connect FAIL: connection refused")
        #expect(stopped.stdout.contains("5 endpoints: 0 passed, 4 failed, 1 not checkable by name"))
    }

    @Test("a server whose certificate chains to another CA fails at tls with OpenSSL's verify reason")
    func wrongCA() throws {
        let fixture = try Fixture()
        let server = try fixture.server()
        let result = try fixture.doctor(["--policy", try fixture.policy(), "--cafile", fixture.file("wrong-ca.pem")]
                                        + Fixture.connectTo(port: server.port))
        #expect(result.status == 1)
        #expect(Fixture.row(result.stdout, Self.sensorRow)
                == "\(Self.sensorRow) sensor 127.0.0.1:\(server.port) tls FAIL: certificate verify failed: unable to get local issuer certificate")
    }

    @Test("without networks.allow, loopback is refused at vet by the built-in range, before any connection")
    func vettingDenial() throws {
        let fixture = try Fixture()
        let server = try fixture.server()
        let result = try fixture.doctor(["--policy", try fixture.policy(allowLoopback: false), "--cafile", fixture.file("ca.pem")]
                                        + Fixture.connectTo(port: server.port))
        #expect(result.status == 1)
        #expect(Fixture.row(result.stdout, Self.sensorRow)
                == "\(Self.sensorRow) sensor 127.0.0.1:\(server.port) vet FAIL: 127.0.0.1 is refused by builtin:127.0.0.0/8")
    }

    @Test("a sensor host answering 503 fails at ping, after a good handshake")
    func pingRefused() throws {
        let fixture = try Fixture(ping: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        let server = try fixture.server(mode: "-HTTP")
        let result = try fixture.doctor(["--policy", try fixture.policy(), "--cafile", fixture.file("ca.pem")]
                                        + Fixture.connectTo(port: server.port))
        #expect(result.status == 1)
        #expect(Fixture.row(result.stdout, Self.sensorRow) == "\(Self.sensorRow) sensor 127.0.0.1:\(server.port) ping "
                + "FAIL: HTTP 503 Service Unavailable (expected 200 with the sensor version)")
    }

    @Test("a chunked 200 with the version passes: the body is read through the chunked framing")
    func pingChunked() throws {
        let fixture = try Fixture(ping: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n2.250\r\n8\r\n.18972.1\r\n0\r\n\r\n")
        let server = try fixture.server(mode: "-HTTP")
        let result = try fixture.doctor(["--policy", try fixture.policy(), "--cafile", fixture.file("ca.pem")]
                                        + Fixture.connectTo(port: server.port))
        #expect(result.status == 0, "\(result.stdout)")
        #expect(Fixture.row(result.stdout, Self.sensorRow)?.hasSuffix("ping ok: version \(Fixture.version) (TLSv1.3)") == true)
    }

    @Test("an empty ping body fails: the sensor version is what the ping proves")
    func pingEmpty() throws {
        let fixture = try Fixture(ping: "")
        let server = try fixture.server()
        let result = try fixture.doctor(["--policy", try fixture.policy(), "--cafile", fixture.file("ca.pem")]
                                        + Fixture.connectTo(port: server.port))
        #expect(result.status == 1)
        #expect(Fixture.row(result.stdout, Self.sensorRow)
                == "\(Self.sensorRow) sensor 127.0.0.1:\(server.port) ping FAIL: HTTP 200 with an empty body (no sensor version)")
    }

    @Test("bad options and files: one line on stderr, exit 1, no table")
    func badInput() throws {
        let fixture = try Fixture()
        let policy = try fixture.policy()
        let badMapping = try fixture.doctor(["--policy", policy, "--connect-to", "a.test:443:127.0.0.1"])
        #expect(badMapping.status == 1)
        #expect(badMapping.stderr == "--connect-to 'a.test:443:127.0.0.1': expected HOST:PORT:ADDR:PORT (IPv6 in brackets)\n")
        #expect(badMapping.stdout.isEmpty)
        let badCA = try fixture.doctor(["--policy", policy, "--cafile", fixture.file("missing.pem")])
        #expect(badCA.status == 1)
        #expect(badCA.stderr == "--cafile \(fixture.file("missing.pem")): No such file or directory\n")
        let badPolicy = try fixture.doctor(["--policy", fixture.file("missing.yaml")])
        #expect(badPolicy.status == 1)
        #expect(badPolicy.stderr.hasPrefix(fixture.file("missing.yaml") + ":0:0: cannot read policy file"))
    }

    @Test("--connect-to follows curl: empty fields match any host or keep the original, IPv6 in brackets")
    func connectToParsing() throws {
        let full = try ConnectTo.parse("a.contoso.test:443:[::1]:8443")
        #expect(full == ConnectTo(host: .name("a.contoso.test"), port: 443, address: .ip(IPAddress("::1")!), addressPort: 8443))
        #expect(full.matches(host: .name("a.contoso.test"), port: 443))
        #expect(!full.matches(host: .name("a.contoso.test"), port: 80))
        #expect(!full.matches(host: .name("b.contoso.test"), port: 443))
        let any = try ConnectTo.parse("::127.0.0.1:")
        #expect(any == ConnectTo(host: nil, port: nil, address: .ip(IPAddress("127.0.0.1")!), addressPort: nil))
        #expect(any.matches(host: .name("b.contoso.test"), port: 80))
        #expect(throws: DoctorError("--connect-to 'a:0:b:1': PORT '0' is not a port (1-65535)")) { try ConnectTo.parse("a:0:b:1") }
        #expect(throws: DoctorError.self) { try ConnectTo.parse("a:1:[::1:2") }
        #expect(throws: DoctorError.self) { try ConnectTo.parse("a b:1:c:2") }
    }
}
