#if canImport(Glibc)
import Glibc
#endif
import Testing
import AtpgateIO
@testable import AtpgateTLS

/// Peers that do not speak TLS, or stop halfway: typed failures, no crash, no descriptor left open.
@Suite("TLS stream: broken peers")
struct TLSStreamFailureTests {
    /// A server stream whose peer is a raw socket the test drives.
    struct RawPeer {
        let stream: TLSStream
        let peer: Socket
        let handshake = LoopHandshake()

        init(_ harness: LoopHarness, _ context: TLSServerContext, chain: [Certificate], key: PrivateKey) throws {
            let (listener, port) = try LoopHarness.listen()
            defer { listener.close() }
            peer = try LoopHarness.connect(port: port)
            let socket = try LoopHarness.accept(listener)
            stream = try harness.onLoop {
                try context.makeStream(transport: harness.channel(socket), certificateChain: chain, privateKey: key)
            }
            let handshake = self.handshake, stream = self.stream
            harness.onLoop { handshake.start(stream) }
        }
    }

    /// A TLS record header announcing a 512-byte handshake message, and a little of it.
    static let truncatedHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]

    @Test("an HTTP request instead of a ClientHello is a protocol error")
    func garbage() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let context = try TLSServerContext(clientVerification: nil)
        let raw = try RawPeer(harness, context, chain: try certificates.chain("server"), key: try certificates.key("server"))
        defer {
            harness.onLoop { raw.stream.close() }
            raw.peer.close()
        }
        try LoopHarness.writeAll(Array("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n".utf8), to: raw.peer)
        #expect(try raw.handshake.failure() == .protocolError("http request"))
    }

    @Test("a handshake record that is no ClientHello is a protocol error, and the peer is sent the alert")
    func notAClientHello() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let context = try TLSServerContext(clientVerification: nil)
        let raw = try RawPeer(harness, context, chain: try certificates.chain("server"), key: try certificates.key("server"))
        defer {
            harness.onLoop { raw.stream.close() }
            raw.peer.close()
        }
        // A handshake record holding a ServerHello-typed message of 4 bytes.
        try LoopHarness.writeAll([0x16, 0x03, 0x01, 0x00, 0x08, 0x02, 0x00, 0x00, 0x04, 0x03, 0x03, 0x00, 0x00], to: raw.peer)
        let failure = try raw.handshake.failure()
        guard case .protocolError(let reasons) = failure else {
            Issue.record("expected a protocol error, got \(failure)")
            return
        }
        #expect(!reasons.isEmpty)
        // The alert OpenSSL queued reaches the peer (the close flushes it), then the end.
        harness.onLoop { raw.stream.close() }
        let answer = LoopHarness.readUntil(raw.peer) { _ in false }
        #expect(answer.first == 0x15, "\(reasons): \(answer)")   // an alert record
    }

    @Test("a peer that closes mid-handshake is peerClosed", arguments: [false, true])
    func closedMidHandshake(sendsPartOfAHello: Bool) throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let context = try TLSServerContext(clientVerification: nil)
        let raw = try RawPeer(harness, context, chain: try certificates.chain("server"), key: try certificates.key("server"))
        defer { harness.onLoop { raw.stream.close() } }
        if sendsPartOfAHello { try LoopHarness.writeAll(Self.truncatedHello, to: raw.peer) }
        raw.peer.close()
        #expect(try raw.handshake.failure() == .peerClosed)
        #expect(harness.onLoop { raw.stream.lastFailure } == .peerClosed)
    }

    @Test("a server that closes during our handshake is peerClosed on the client side")
    func serverClosesMidHandshake() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let (listener, port) = try LoopHarness.listen()
        defer { listener.close() }
        let context = try TLSClientContext(trust: .bundle(try certificates.chain("ca")))
        let socket = try LoopHarness.connect(port: port)
        let stream = try harness.onLoop { try context.makeStream(transport: harness.channel(socket), host: "localhost") }
        defer { harness.onLoop { stream.close() } }
        let handshake = LoopHandshake()
        harness.onLoop { handshake.start(stream) }
        let peer = try LoopHarness.accept(listener)
        _ = LoopHarness.readUntil(peer) { !$0.isEmpty }
        peer.close()
        #expect(try handshake.failure() == .peerClosed)
    }

    @Test("failed handshakes leave no descriptor open, and a stream used after close throws")
    func noDescriptorLeak() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let context = try TLSServerContext(clientVerification: ClientVerification(caCertificates: try certificates.chain("ca"),
                                                                                  require: true))
        let chain = try certificates.chain("server"), key = try certificates.key("server")
        let rounds = 100
        let before = LoopHarness.openDescriptorCount()
        for round in 0..<rounds {
            let raw = try RawPeer(harness, context, chain: chain, key: key)
            if round % 2 == 0 {
                try LoopHarness.writeAll(Array("garbage, not TLS at all\r\n".utf8), to: raw.peer)
            } else {
                try LoopHarness.writeAll(Self.truncatedHello, to: raw.peer)
                raw.peer.close()
            }
            _ = try raw.handshake.failure()
            harness.onLoop { raw.stream.close() }
            if round % 2 == 0 { raw.peer.close() }
            if round == 0 {
                let afterClose = harness.onLoop { () -> (SocketError?, SocketError?) in
                    var byte: UInt8 = 0
                    let read = withUnsafeMutableBytes(of: &byte) { buffer in Result { () throws(SocketError) in try raw.stream.read(into: buffer) } }
                    let write = withUnsafeBytes(of: &byte) { buffer in Result { () throws(SocketError) in try raw.stream.write(buffer) } }
                    if case .failure(let readError) = read, case .failure(let writeError) = write { return (readError, writeError) }
                    return (nil, nil)
                }
                #expect(afterClose.0 != nil && afterClose.1 != nil)
            }
        }
        // Other suites open descriptors meanwhile: a leak here would be one or two a round, far above their noise.
        let settled = loopEventually(timeout: 10) { LoopHarness.openDescriptorCount() <= before + rounds / 4 }
        #expect(settled, "descriptors: \(before) before, \(LoopHarness.openDescriptorCount()) after \(rounds) failed handshakes")
    }
}
