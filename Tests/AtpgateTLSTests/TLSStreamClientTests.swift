import Foundation
import Testing
import AtpgateIO
@testable import AtpgateTLS

/// The upstream leg: a `TLSStream` client talking to the real `openssl s_server`.
@Suite("TLS stream: client side")
struct TLSStreamClientTests {
    /// An `s_server -www` with `arguments` (it answers `GET /` with a status page naming the client
    /// certificate), and a client stream of our own connected to it.
    struct Upstream {
        let harness = LoopHarness()
        let certificates: TLSPeerCertificates
        let server: TLSPeerProcess
        let stream: TLSStream
        let handshake = LoopHandshake()

        init(server arguments: [String], trust: [String] = ["ca"], host: String = "localhost", clientCertificate: String? = nil,
             certificates: TLSPeerCertificates? = nil) throws {
            let certificates = try certificates ?? TLSPeerCertificates()
            self.certificates = certificates
            let (server, port) = try TLSPeerProcess.server(["-www", "-cert", "server.pem", "-key", "server-key.pem",
                                                            "-CAfile", "ca.pem"] + arguments, in: certificates.directory)
            self.server = server
            let context = try TLSClientContext(trust: .bundle(try trust.flatMap { try certificates.chain($0) }))
            let chain = try clientCertificate.map { try certificates.chain($0) } ?? []
            let key = try clientCertificate.map { try certificates.key($0) }
            let socket = try LoopHarness.connect(port: port)
            let harness = self.harness
            stream = try harness.onLoop {
                try context.makeStream(transport: harness.channel(socket), host: host, certificateChain: chain, privateKey: key)
            }
            let handshake = self.handshake, stream = self.stream
            harness.onLoop { handshake.start(stream) }
        }

        /// Sends `GET /` and reads the answer to its end.
        func get() -> LoopReader {
            let reader = LoopReader(stream, chunk: 4096)
            harness.onLoop {
                stream.send(Array("GET / HTTP/1.0\r\n\r\n".utf8)) { _ in }
                reader.start()
            }
            _ = loopEventually { reader.state.value.ended || reader.state.value.error != nil }
            return reader
        }

        func end() {
            harness.onLoop { stream.close() }
            server.kill()
        }
    }

    @Test("with a client certificate the request goes through and s_server saw the certificate",
          arguments: ["-tls1_3", "-tls1_2"])
    func clientCertificateReachesTheServer(version: String) throws {
        let upstream = try Upstream(server: [version, "-Verify", "1", "-verify_return_error"], clientCertificate: "client")
        defer { upstream.end() }
        let info = try upstream.handshake.wait().get()
        #expect(info.protocolVersion == (version == "-tls1_3" ? "TLSv1.3" : "TLSv1.2"))
        #expect(info.peerVerified)
        #expect(info.peerSubject == "CN=localhost")
        let reader = upstream.get()
        let page = String(decoding: reader.state.value.bytes, as: UTF8.self)
        #expect(reader.state.value.error == nil)
        #expect(reader.state.value.ended)
        #expect(page.hasPrefix("HTTP/1.0 200 ok"))
        #expect(page.contains("Client certificate"))
        #expect(page.contains("Subject: CN=client.test"))
    }

    @Test("an IP literal is checked against the certificate's address")
    func ipLiteralHost() throws {
        let upstream = try Upstream(server: [], host: "127.0.0.1")
        defer { upstream.end() }
        #expect(try upstream.handshake.wait().get().peerVerified)
        #expect(String(decoding: upstream.get().state.value.bytes, as: UTF8.self).contains("no client certificate available"))
    }

    @Test("SNI: a DNS name is sent, an IP literal is not", arguments: [("localhost", true), ("127.0.0.1", false), ("[::1]", false)])
    func serverNameIndication(host: String, sent: Bool) throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let (listener, port) = try LoopHarness.listen()
        defer { listener.close() }
        let context = try TLSClientContext(trust: .bundle(try certificates.chain("ca")))
        let socket = try LoopHarness.connect(port: port)
        let stream = try harness.onLoop { try context.makeStream(transport: harness.channel(socket), host: host) }
        defer { harness.onLoop { stream.close() } }
        harness.onLoop { stream.handshake { _ in } }
        let peer = try LoopHarness.accept(listener)
        defer { peer.close() }
        let hello = LoopHarness.readUntil(peer) { $0.count >= 5 && $0.count >= 5 + (Int($0[3]) << 8 | Int($0[4])) }
        let name = Array(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).utf8)
        let carriesName = hello.count >= name.count && (0...(hello.count - name.count)).contains { Array(hello[$0..<($0 + name.count)]) == name }
        #expect(hello.first == 0x16)
        #expect(carriesName == sent)
    }

    @Test("a name the certificate does not carry fails verification with hostname mismatch")
    func wrongName() throws {
        let upstream = try Upstream(server: [], host: "wrong.test")
        defer { upstream.end() }
        let failure = try upstream.handshake.failure()
        guard case .certificateVerifyFailed(let reason) = failure else {
            Issue.record("expected a verify failure, got \(failure)")
            return
        }
        #expect(reason.lowercased().contains("hostname"))
        #expect(failure.description == "certificate verify failed: hostname mismatch")
    }

    @Test("a chain the trust bundle does not lead to fails verification")
    func untrustedChain() throws {
        let upstream = try Upstream(server: [], trust: ["other-ca"])
        defer { upstream.end() }
        // s_server sends its CA after the leaf (it builds the chain from -CAfile).
        #expect(try upstream.handshake.failure() == .certificateVerifyFailed("self-signed certificate in certificate chain"))
    }

    @Test("TLS 1.3: a refused client certificate completes our handshake, then the first read fails with the peer's alert")
    func tls13RefusalArrivesOnTheFirstRead() throws {
        let upstream = try Upstream(server: ["-tls1_3", "-Verify", "1", "-verify_return_error"], clientCertificate: "stranger")
        defer { upstream.end() }
        let info = try upstream.handshake.wait().get()
        #expect(info.protocolVersion == "TLSv1.3")
        let reader = upstream.get()
        #expect(reader.state.value.error == SocketError("SSL_read", errno: EPROTO))
        let failure = upstream.harness.onLoop { upstream.stream.lastFailure }
        guard case .peerAlert(let code, let name)? = failure else {
            Issue.record("expected a peer alert, got \(String(describing: failure))")
            return
        }
        #expect(code == 48 && name == "unknown_ca")
    }

    @Test("TLS 1.2: a refused client certificate fails the handshake with the peer's alert")
    func tls12RefusalFailsTheHandshake() throws {
        let upstream = try Upstream(server: ["-tls1_2", "-Verify", "1", "-verify_return_error"], clientCertificate: "stranger")
        defer { upstream.end() }
        let failure = try upstream.handshake.failure()
        guard case .peerAlert = failure else {
            Issue.record("expected a peer alert, got \(failure)")
            return
        }
    }

    @Test("TLS 1.3: no client certificate where one is required: certificate_required on the first read")
    func tls13MissingCertificate() throws {
        let upstream = try Upstream(server: ["-tls1_3", "-Verify", "1"])
        defer { upstream.end() }
        _ = try upstream.handshake.wait().get()
        _ = upstream.get()
        #expect(upstream.harness.onLoop { upstream.stream.lastFailure } == .peerAlert(code: 116, description: "certificate_required"))
    }
}
