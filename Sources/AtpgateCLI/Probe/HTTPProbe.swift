import AtpgateHTTP

/// One `GET` over HTTP/1.1 with `Connection: close`, read up to the final response head: all a health
/// check needs. The body is never read (a 2xx head is the answer).
enum HTTPProbe {
    enum Outcome: Equatable {
        /// A final response head arrived.
        case response(status: Int, reason: String)
        /// A step failed: `resolve`, `connect`, `send`, `response`, with why.
        case failed(step: String, reason: String)
    }

    /// Larger heads are not health answers; the proxy's own limit is of the same order.
    static let headLimit = 16384

    static func get(_ target: ProbeTarget, timeout: Duration) -> Outcome {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        do throws(ProbeSocket.Failure) {
            let socket = try ProbeSocket(host: target.host, port: target.port, deadline: deadline)
            try socket.send(Array(request(target).utf8))
            return try readFinalHead(socket)
        } catch {
            return .failed(step: error.step, reason: error.reason)
        }
    }

    static func request(_ target: ProbeTarget) -> String {
        "GET \(target.path) HTTP/1.1\r\nHost: \(target.authority)\r\nUser-Agent: atpgate-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    }

    /// Skips interim (1xx) heads, as RFC 9110 §15.2 asks of a client; returns the final one.
    private static func readFinalHead(_ socket: borrowing ProbeSocket) throws(ProbeSocket.Failure) -> Outcome {
        var buffered: [UInt8] = []
        var scanner = HeadScanner(limit: headLimit)
        while true {
            let end: Int?
            do throws(HTTPHeadError) { end = try scanner.scan(buffered) } catch {
                return .failed(step: "response", reason: "invalid response head: \(error)")
            }
            guard let end else {
                let chunk = try socket.receive()
                if chunk.isEmpty {
                    return .failed(step: "response", reason: buffered.isEmpty
                        ? "connection closed without a response" : "connection closed inside the response head")
                }
                buffered += chunk
                continue
            }
            let head: HTTPResponseHead
            do throws(HTTPHeadError) { head = try HTTPResponseHead.parse(Array(buffered[0..<end])) } catch {
                return .failed(step: "response", reason: "invalid response head: \(error)")
            }
            if (100...199).contains(head.status) && head.status != 101 {
                buffered.removeFirst(end)
                scanner.reset()
                continue
            }
            return .response(status: head.status, reason: head.reason)
        }
    }
}
