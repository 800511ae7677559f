import AtpgateHTTP
import AtpgateIO

/// The bytes of a request head being read, and the scanner that finds its end. A class, so appending
/// to it inside the connection's state never copies the buffer. Confined to the connection's loop queue.
final class HeadBuffer: @unchecked Sendable {
    var bytes: [UInt8]
    var scanner: HeadScanner

    init(limit: Int, buffered: [UInt8] = []) {
        bytes = buffered
        scanner = HeadScanner(limit: limit)
    }
}

extension ProxyConnection {
    /// Starts reading the next request head; `buffered` are bytes already read behind the last request.
    /// The policy read here only sizes the head and its timer; the request is decided under the policy
    /// in force once its head is complete (`processBuffered`).
    func beginHead(buffered: [UInt8]) {
        let policy = context.policies.policy
        let buffer = HeadBuffer(limit: policy.limits.headBytes, buffered: buffered)
        state = .readingHead(buffer)
        deadline.arm(after: policy.timeouts.head) { [self] in headTimedOut(policy.timeouts.head) }
        client.setReadHandler { [self] in readHead() }
        if buffered.isEmpty {
            readHead()
        } else {
            // A pipelined request behind the one just served: handle it on a fresh stack, so a client
            // pipelining many requests cannot make the calls nest one level per request.
            loop.queue.async { [self] in
                guard case .readingHead(let current) = state, current === buffer else { return }
                processBuffered(buffer)
                readHead()
            }
        }
    }

    /// Reads until the socket would block or a head is complete (handlers must drain: see Pump.readable).
    func readHead() {
        while case .readingHead(let buffer) = state {
            let count: Int
            do {
                guard let n = try client.read(into: loop.scratch) else { return }
                count = n
            } catch {
                close()
                return
            }
            if count == 0 {
                // The client went away; a half-sent head is not a request worth logging.
                close()
                return
            }
            buffer.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
            processBuffered(buffer)
        }
    }

    private func processBuffered(_ buffer: HeadBuffer) {
        let scanned = buffer.bytes.withUnsafeBytes { bytes in
            Result { () throws(HTTPHeadError) in try buffer.scanner.scan(bytes) }
        }
        let headLength: Int?
        switch scanned {
        case .success(let length):
            headLength = length
        case .failure(.tooLarge):
            fail(.headTooLarge(limit: buffer.scanner.limit), request: nil)
            return
        case .failure(.malformed(let reason)):
            fail(.badRequest(reason), request: nil)
            return
        }
        guard let headLength else { return }
        client.pauseReading()
        deadline.disarm()
        let leftover = Array(buffer.bytes[headLength...])
        let parsed = buffer.bytes.withUnsafeBytes { bytes in
            Result { () throws(HTTPHeadError) -> HTTPRequestHead in
                try HTTPRequestHead.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<headLength]))
            }
        }
        switch parsed {
        case .success(let head):
            handle(head, leftover: leftover)
        case .failure(let error):
            fail(.badRequest(Self.reason(error)), request: nil)
        }
    }

    private func headTimedOut(_ seconds: Double) {
        guard case .readingHead(let buffer) = state else { return }
        if buffer.bytes.isEmpty {
            // An idle keep-alive connection, or a client that never spoke: nothing to answer.
            close()
        } else {
            fail(.headTimeout(seconds: seconds), request: nil)
        }
    }
}
