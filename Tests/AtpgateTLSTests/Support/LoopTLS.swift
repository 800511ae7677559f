import AtpgateIO
@testable import AtpgateTLS

/// Waits for a TLS stream's handshake from the test thread. Start it on the loop's queue.
final class LoopHandshake: @unchecked Sendable {
    let result = Locked<Result<TLSHandshakeInfo, TLSHandshakeError>?>(nil)

    func start(_ stream: TLSStream) {
        stream.handshake { [self] outcome in result.withLock { $0 = outcome } }
    }

    /// The outcome, or a thrown error when none came within `timeout` seconds.
    func wait(timeout: Double = 20) throws -> Result<TLSHandshakeInfo, TLSHandshakeError> {
        guard loopEventually(timeout: timeout, { result.value != nil }), let outcome = result.value else {
            throw LoopTestError("no handshake outcome within \(timeout) s")
        }
        return outcome
    }

    /// The failure, or a thrown error when the handshake succeeded or did not end.
    func failure(timeout: Double = 20) throws -> TLSHandshakeError {
        switch try wait(timeout: timeout) {
        case .success(let info): throw LoopTestError("the handshake succeeded (\(info.protocolVersion))")
        case .failure(let failure): return failure
        }
    }
}

/// A server stream and a client stream of our own, connected over loopback TCP on one loop, handshaken.
struct LoopTLSPair {
    let server: TLSStream
    let client: TLSStream

    /// `bufferSize`: both sockets' SO_SNDBUF/SO_RCVBUF.
    static func make(_ harness: LoopHarness, _ certificates: TLSPeerCertificates, bufferSize: Int32? = nil) throws -> LoopTLSPair {
        let (listener, port) = try LoopHarness.listen(bufferSize: bufferSize)
        defer { listener.close() }
        let clientSocket = try LoopHarness.connect(port: port, bufferSize: bufferSize)
        let serverSocket = try LoopHarness.accept(listener)
        let serverContext = try TLSServerContext(clientVerification: nil)
        let clientContext = try TLSClientContext(trust: .bundle(try certificates.chain("ca")))
        let chain = try certificates.chain("server"), key = try certificates.key("server")
        let server = try harness.onLoop {
            try serverContext.makeStream(transport: harness.channel(serverSocket), certificateChain: chain, privateKey: key)
        }
        let client = try harness.onLoop { try clientContext.makeStream(transport: harness.channel(clientSocket), host: "localhost") }
        let serverHandshake = LoopHandshake(), clientHandshake = LoopHandshake()
        harness.onLoop {
            serverHandshake.start(server)
            clientHandshake.start(client)
        }
        _ = try serverHandshake.wait().get()
        _ = try clientHandshake.wait().get()
        return LoopTLSPair(server: server, client: client)
    }

    func close(on harness: LoopHarness) {
        harness.onLoop {
            server.close()
            client.close()
        }
    }
}
