import Foundation
import Testing
import AtpgateIO
@testable import AtpgateTLS

/// The client-facing leg: a `TLSStream` server terminating the real `openssl s_client`.
@Suite("TLS stream: server side")
struct TLSStreamServerTests {
    /// One connection from an `s_client` with `arguments`, handed to a server stream of `context`.
    struct Served {
        let harness = LoopHarness()
        let certificates: TLSPeerCertificates
        let client: TLSPeerProcess
        let stream: TLSStream
        let handshake = LoopHandshake()

        init(_ context: TLSServerContext, client arguments: [String], certificates: TLSPeerCertificates? = nil,
             readHelloFirst: Bool = false) throws {
            let certificates = try certificates ?? TLSPeerCertificates()
            self.certificates = certificates
            let (listener, port) = try LoopHarness.listen()
            defer { listener.close() }
            client = try TLSPeerProcess.client(port: port, ["-servername", "localhost", "-CAfile", "ca.pem"] + arguments,
                                               in: certificates.directory)
            let socket = try LoopHarness.accept(listener)
            var alreadyRead: [UInt8] = []
            if readHelloFirst {
                // What the proxy's peek does: the whole first record, taken off the socket.
                alreadyRead = LoopHarness.readUntil(socket) { bytes in
                    bytes.count >= 5 && bytes.count >= 5 + (Int(bytes[3]) << 8 | Int(bytes[4]))
                }
                guard alreadyRead.count > 5, alreadyRead[0] == 0x16 else {
                    socket.close()
                    throw LoopTestError("no ClientHello read: \(alreadyRead.prefix(8))")
                }
            }
            let chain = try certificates.chain("server"), key = try certificates.key("server")
            let harness = self.harness
            stream = try harness.onLoop {
                try context.makeStream(transport: harness.channel(socket), certificateChain: chain, privateKey: key,
                                       alreadyRead: alreadyRead)
            }
            let handshake = self.handshake, stream = self.stream
            harness.onLoop { handshake.start(stream) }
        }

        func end() {
            harness.onLoop { stream.close() }
            client.kill()
        }
    }

    static func requiring(_ certificates: TLSPeerCertificates, pins: [[UInt8]] = [], require: Bool = true) throws -> TLSServerContext {
        try TLSServerContext(clientVerification: ClientVerification(caCertificates: try certificates.chain("ca"), pins: pins,
                                                                   require: require))
    }

    @Test("a verified client certificate, then 1 MiB each way byte-exact through 1000-byte reads",
          arguments: ["-tls1_3", "-tls1_2"])
    func verifiedClientAndBytesBothWays(version: String) throws {
        let certificates = try TLSPeerCertificates()
        let served = try Served(try Self.requiring(certificates), client: [version, "-quiet", "-cert", "client.pem",
                                                                           "-key", "client-key.pem"],
                                certificates: certificates)
        defer { served.end() }
        let info = try served.handshake.wait().get()
        #expect(info.protocolVersion == (version == "-tls1_3" ? "TLSv1.3" : "TLSv1.2"))
        #expect(!info.cipher.isEmpty)
        #expect(info.alpn == nil)
        #expect(info.peerVerified)
        #expect(info.peerSubject == "O=atpgate,CN=client.test")
        #expect(info.peerSHA256 == (try certificates.directory.fingerprint("client.pem")))

        let payload = loopRandomBytes(1 << 20)
        let echo = LoopEcho(served.stream, chunk: 1000, expected: payload.count)
        served.harness.onLoop { echo.start() }
        served.client.send(payload, thenClose: true)
        // The echo ends with close_notify, on which s_client exits.
        #expect(loopEventually(timeout: 60) { served.client.outputComplete })
        #expect(echo.state.value.error == nil)
        #expect(echo.state.value.echoed == payload.count)
        #expect(served.client.stdout.count == payload.count)
        #expect(served.client.stdout == payload)
    }

    @Test("close_notify from the client ends the stream with 0")
    func closeNotifyEndsTheStream() throws {
        let certificates = try TLSPeerCertificates()
        let served = try Served(try Self.requiring(certificates), client: ["-no_ign_eof", "-nocommands", "-cert", "client.pem",
                                                                           "-key", "client-key.pem"],
                                certificates: certificates)
        defer { served.end() }
        _ = try served.handshake.wait().get()
        let reader = LoopReader(served.stream, chunk: 64)
        served.harness.onLoop { reader.start() }
        served.client.send(Array("hello\n".utf8), thenClose: true)
        #expect(loopEventually { reader.state.value.ended || reader.state.value.error != nil })
        #expect(reader.state.value.error == nil)
        #expect(reader.state.value.bytes == Array("hello\n".utf8))
        let ends = served.harness.onLoop { (served.stream.receivedCloseNotify, served.stream.endedWithoutCloseNotify) }
        #expect(ends == (true, false))
    }

    @Test("require: a client without a certificate is refused with noClientCertificate", arguments: ["-tls1_3", "-tls1_2"])
    func missingClientCertificate(version: String) throws {
        let certificates = try TLSPeerCertificates()
        let served = try Served(try Self.requiring(certificates), client: [version, "-quiet"], certificates: certificates)
        defer { served.end() }
        #expect(try served.handshake.failure() == .noClientCertificate)
        #expect(served.harness.onLoop { served.stream.lastFailure } == .noClientCertificate)
    }

    @Test("require: a certificate from another CA fails verification")
    func certificateFromAnotherCA() throws {
        let certificates = try TLSPeerCertificates()
        let served = try Served(try Self.requiring(certificates), client: ["-quiet", "-cert", "stranger.pem", "-key", "stranger-key.pem"],
                                certificates: certificates)
        defer { served.end() }
        #expect(try served.handshake.failure() == .certificateVerifyFailed("unable to get local issuer certificate"))
    }

    @Test("require: a pinned certificate from another CA is accepted as verified")
    func pinnedCertificate() throws {
        let certificates = try TLSPeerCertificates()
        let pin = try certificates.chain("stranger")[0].sha256
        let served = try Served(try Self.requiring(certificates, pins: [pin]),
                                client: ["-quiet", "-cert", "stranger.pem", "-key", "stranger-key.pem"], certificates: certificates)
        defer { served.end() }
        let info = try served.handshake.wait().get()
        #expect(info.peerVerified)
        #expect(info.peerSubject == "CN=stranger.test")
    }

    @Test("without require: an unverified certificate is reported, not verified; none at all is fine")
    func optionalClientCertificate() throws {
        let certificates = try TLSPeerCertificates()
        let context = try Self.requiring(certificates, require: false)
        let stranger = try Served(context, client: ["-quiet", "-cert", "stranger.pem", "-key", "stranger-key.pem"],
                                  certificates: certificates)
        defer { stranger.end() }
        let info = try stranger.handshake.wait().get()
        #expect(!info.peerVerified)
        #expect(info.peerSubject == "CN=stranger.test")

        let anonymous = try Served(context, client: ["-quiet"], certificates: certificates)
        defer { anonymous.end() }
        let anonymousInfo = try anonymous.handshake.wait().get()
        #expect(anonymousInfo.peerCertificate == nil)
        #expect(!anonymousInfo.peerVerified)
    }

    @Test("a client that does not trust our certificate: its alert is the failure", arguments: ["-tls1_3", "-tls1_2"])
    func clientRefusesOurCertificate(version: String) throws {
        let certificates = try TLSPeerCertificates()
        let served = try Served(try TLSServerContext(clientVerification: nil),
                                client: [version, "-quiet", "-verify_return_error", "-CAfile", "other-ca.pem"],
                                certificates: certificates)
        defer { served.end() }
        #expect(try served.handshake.failure() == .peerAlert(code: 48, description: "unknown_ca"))
    }

    @Test("ALPN: http/1.1 is selected; a client offering only h2 is refused")
    func alpn() throws {
        let certificates = try TLSPeerCertificates()
        let context = try TLSServerContext(clientVerification: nil)
        let both = try Served(context, client: ["-quiet", "-alpn", "h2,http/1.1"], certificates: certificates)
        defer { both.end() }
        #expect(try both.handshake.wait().get().alpn == "http/1.1")

        let h2 = try Served(context, client: ["-quiet", "-alpn", "h2"], certificates: certificates)
        defer { h2.end() }
        #expect(try h2.handshake.failure() == .noSharedALPN)
    }

    @Test("bytes already read (the peeked ClientHello) are handed in and the handshake completes")
    func alreadyReadClientHello() throws {
        let certificates = try TLSPeerCertificates()
        let served = try Served(try Self.requiring(certificates), client: ["-quiet", "-cert", "client.pem", "-key", "client-key.pem"],
                                certificates: certificates, readHelloFirst: true)
        defer { served.end() }
        let info = try served.handshake.wait().get()
        #expect(info.peerVerified)
    }
}
