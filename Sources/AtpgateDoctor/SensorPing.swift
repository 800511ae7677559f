import AtpgateHTTP

/// The ping step on a classic sensor host: what Microsoft's `Test-MDISensorApiConnection` does from a
/// domain controller, done from the proxy host. `GET /tri/sensor/api/ping` over the verified TLS
/// connection passes on a 200 whose body is not empty: the body is the sensor service's version.
enum SensorPing {
    static let path = "/tri/sensor/api/ping"
    /// Far more than a version string; a longer body is cut here (the check needs only its start).
    static let bodyLimit = 4096
    static let headLimit = 16384
    /// The version as the table shows it, at most this many characters.
    static let shownLimit = 40

    /// Returns "version 2.250.1" (the body's first line, printable ASCII only).
    static func run(_ session: TLSSession, host: String) throws(StepFailure) -> String {
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: atpgate-doctor\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        try session.write(Array(request.utf8))
        var received: [UInt8] = []
        var headEnd: Int? = nil
        while headEnd == nil {
            let chunk = try session.read(limit: 16384)
            guard !chunk.isEmpty else {
                throw StepFailure(step: .ping, reason: received.isEmpty ? "the server closed without an answer"
                                                                        : "the answer ended inside its head")
            }
            received += chunk
            headEnd = endOfHead(received)
            guard headEnd != nil || received.count <= headLimit else {
                throw StepFailure(step: .ping, reason: "answer head larger than \(headLimit) bytes")
            }
        }
        let response: HTTPResponseHead
        let framing: BodyFraming
        do {
            response = try HTTPResponseHead.parse(Array(received[..<headEnd!]))
            framing = try response.bodyFraming(requestMethod: "GET")
        } catch {
            throw StepFailure(step: .ping, reason: "bad answer: \(error)")
        }
        guard response.status == 200 else {
            let reason = response.reason.isEmpty ? "" : " " + printable(response.reason)
            throw StepFailure(step: .ping, reason: "HTTP \(response.status)\(reason) (expected 200 with the sensor version)")
        }
        let body = try readBody(session, framing: framing, already: Array(received[headEnd!...]))
        let version = printable(String(decoding: body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? "")
        guard !version.isEmpty else { throw StepFailure(step: .ping, reason: "HTTP 200 with an empty body (no sensor version)") }
        return "version " + version
    }

    /// The body's first `bodyLimit` bytes (chunk data only for a chunked body).
    private static func readBody(_ session: TLSSession, framing: BodyFraming, already: [UInt8]) throws(StepFailure) -> [UInt8] {
        var framer: BodyFramer
        switch framing {
        case .none: return []
        case .contentLength(let length): framer = BodyFramer(.length(length))
        case .chunked: framer = BodyFramer(.dechunk)
        case .untilClose: framer = BodyFramer(.stream)
        }
        var body: [UInt8] = []
        var pending = already
        while true {
            do {
                _ = try pending.withUnsafeBytes { raw throws(HTTPHeadError) in
                    try framer.consume(raw) { body += $0 }
                }
            } catch {
                throw StepFailure(step: .ping, reason: "bad answer body: \(error)")
            }
            if framer.isComplete || body.count >= bodyLimit { return Array(body.prefix(bodyLimit)) }
            pending = try session.read(limit: 16384)
            if pending.isEmpty {
                guard framer.closeEndsBody else { throw StepFailure(step: .ping, reason: "the answer body was cut short") }
                return Array(body.prefix(bodyLimit))
            }
        }
    }

    /// Index just past the CRLFCRLF ending the head, or nil.
    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    /// Server text made safe for a terminal: printable ASCII, trimmed and cut to `shownLimit` characters.
    static func printable(_ text: String) -> String {
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }))
        let trimmed = kept.trimmingSpaces()
        return trimmed.count > shownLimit ? String(trimmed.prefix(shownLimit - 1)) + "…" : trimmed
    }
}

extension String {
    /// Without leading and trailing spaces (no Foundation here).
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }), let last = scalars.lastIndex(where: { $0 != " " }) else {
            return ""
        }
        return String(scalars[first...last])
    }
}
