import AtpgateIO
import AtpgateTLSHello

/// Reads a CONNECT tunnel's first client bytes until its TLS ClientHello is whole, forwarding nothing
/// (issue 10). Every byte read is kept to be forwarded unchanged if the hello passes. Bytes that came
/// with the CONNECT head are handed back to the client stream first (`unread`), so they are peeked too.
/// The reassembler bounds what is held (64 KiB of handshake); the connection's deadline bounds the time.
/// Confined to the loop's queue.
final class HelloPeek: @unchecked Sendable {
    enum Outcome {
        /// A whole, well-formed ClientHello.
        case hello(ClientHello, bytes: [UInt8])
        /// Not a TLS client's first flight, or a hello that does not parse.
        case notTLS(reason: String, bytes: [UInt8])
        case tooLarge(reason: String, bytes: [UInt8])
        /// The client ended its stream (`error` nil) or failed before a whole hello.
        case clientEnded(EndReason?, bytes: [UInt8])
    }

    private let client: any ByteStream
    private let loop: IOLoop
    private var reassembler = HelloReassembler()
    private var onDone: ((Outcome) -> Void)?

    init(client: any ByteStream, loop: IOLoop) {
        self.client = client
        self.loop = loop
    }

    /// Everything read so far (for `log` mode after a timeout: forwarded as it is).
    var bytes: [UInt8] { reassembler.bytes }

    func start(onDone: @escaping (Outcome) -> Void) {
        self.onDone = onDone
        // The stream calls the handler at once when bytes wait (handed back, or not drained).
        client.setReadHandler { [self] in readable() }
    }

    /// Stops reading without reporting (timeout, shutdown, cut).
    func stop() {
        guard onDone != nil else { return }
        onDone = nil
        client.pauseReading()
    }

    /// Reads until the socket would block or the reassembler has a verdict; bounded by the reassembler's
    /// limit, so it never loops for long.
    private func readable() {
        while onDone != nil {
            let count: Int
            do {
                guard let n = try client.read(into: loop.scratch) else { return }
                count = n
            } catch {
                finish(.clientEnded(.broke(.client, error), bytes: reassembler.bytes))
                return
            }
            if count == 0 {
                finish(.clientEnded(nil, bytes: reassembler.bytes))
                return
            }
            switch reassembler.append(UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count])) {
            case .needMore:
                continue
            case .complete(let message):
                do {
                    finish(.hello(try ClientHelloParser.parse(message), bytes: reassembler.bytes))
                } catch {
                    finish(.notTLS(reason: "malformed ClientHello: \(error)", bytes: reassembler.bytes))
                }
            case .notTLS:
                finish(.notTLS(reason: reassembler.failureReason ?? "not a TLS ClientHello", bytes: reassembler.bytes))
            case .tooLarge:
                finish(.tooLarge(reason: reassembler.failureReason ?? "ClientHello too large", bytes: reassembler.bytes))
            }
        }
    }

    private func finish(_ outcome: Outcome) {
        client.pauseReading()
        let handler = onDone
        onDone = nil
        handler?(outcome)
    }
}
