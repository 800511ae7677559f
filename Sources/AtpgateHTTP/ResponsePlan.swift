/// How a proxy relays a response body to its client. The rule: what the client is told about the body
/// is exactly how the proxy reads it from the upstream, so the two can never disagree about where the
/// response ends (a disagreement lets an upstream, or anyone on its path, forge a second response).
public enum ResponseRelay: Sendable, Equatable {
    /// No body (HEAD, 1xx, 204, 304).
    case none
    /// `Content-Length: n` in, the same n announced to the client.
    case length(UInt64)
    /// Chunked in, the same bytes out with `Transfer-Encoding: chunked`.
    case chunked
    /// Chunked in, only the chunk data out, delimited by closing the client connection (HTTP/1.0
    /// clients cannot read chunked coding).
    case dechunk
    /// Read until the upstream closes, delimited by closing the client connection.
    case untilClose
}

/// The final response as it goes to the client: its head bytes and how its body is relayed.
public struct ResponsePlan: Sendable, Equatable {
    public let status: Int
    /// The rewritten head (hop-by-hop fields removed, Via added, framing fields as the relay frames it).
    public let head: [UInt8]
    public let relay: ResponseRelay
    /// The client connection closes after this response.
    public let closeAfter: Bool
    /// The upstream connection may carry another request once this body has been read to its framed end:
    /// the server did not ask to close (RFC 9112 §9.3) and the body's end is known from its framing
    /// (never a close-delimited body, which ends only when the server closes). A response that has no
    /// body by the rules (HEAD, 204, 304) but whose head describes one (a non-zero Content-Length, a
    /// Transfer-Encoding) is not reused either: some servers send that body anyway, and its bytes would
    /// be read as the answer to the next request on the connection.
    public let upstreamReusable: Bool

    /// Plans the relay of `response`, the final answer to a `requestMethod` request from a client speaking
    /// `clientVersion` that asked to keep the connection (`clientKeepAlive`). Throws for framing the proxy
    /// refuses to relay (see `HTTPResponseHead.bodyFraming`): the caller answers 502.
    ///
    /// The framing fields sent are rebuilt from the framing read: every received Content-Length and
    /// Transfer-Encoding is dropped, then `Content-Length: n` (as one normalised value) or
    /// `Transfer-Encoding: chunked` is written for what the relay really does; close-delimited bodies go
    /// with `Connection: close`. Bodiless responses keep a valid Content-Length (it describes the
    /// representation, RFC 9110 §8.6) except on 1xx and 204, which must not carry one.
    public static func make(_ response: HTTPResponseHead, requestMethod: String, clientVersion: HTTPVersion,
                            clientKeepAlive: Bool) throws(HTTPHeadError) -> ResponsePlan {
        let framing = try response.bodyFraming(requestMethod: requestMethod)
        var head = response
        var close = !clientKeepAlive
        let relay: ResponseRelay
        head.headers.removeAll { $0.hasName("transfer-encoding") }
        switch framing {
        case .none:
            relay = .none
            let validLength = try? contentLength(response.headers)
            let mayAnnounce = !(100...199).contains(response.status) && response.status != 204
            head.headers.removeAll { $0.hasName("content-length") }
            if mayAnnounce, let length = validLength ?? nil {
                head.headers.append(HTTPHeader(name: "Content-Length", value: String(length)))
            }
        case .contentLength(let length):
            relay = .length(length)
            head.headers.removeAll { $0.hasName("content-length") }
            head.headers.append(HTTPHeader(name: "Content-Length", value: String(length)))
        case .chunked where clientVersion == .http1_0:
            relay = .dechunk
            head.headers.removeAll { $0.hasName("content-length") }
            close = true
        case .chunked:
            relay = .chunked
            head.headers.removeAll { $0.hasName("content-length") }
            head.headers.append(HTTPHeader(name: "Transfer-Encoding", value: "chunked"))
        case .untilClose:
            relay = .untilClose
            head.headers.removeAll { $0.hasName("content-length") }
            close = true
        }
        let bytes = HeadRewriter.clientResponse(head, close: close, clientVersion: clientVersion)
        let framedEnd = relay != .untilClose
        let describesUnsentBody = relay == .none
            && (response.headers.contains { $0.hasName("transfer-encoding") } || Self.announcesLength(response.headers))
        return ResponsePlan(status: response.status, head: bytes, relay: relay, closeAfter: close,
                            upstreamReusable: framedEnd && !describesUnsentBody && response.keepAlive
                                && response.status != 101)
    }

    /// A Content-Length other than 0 (an invalid one counts: it cannot be trusted to mean "no body").
    private static func announcesLength(_ headers: [HTTPHeader]) -> Bool {
        switch Result(catching: { () throws(HTTPHeadError) in try contentLength(headers) }) {
        case .success(let length?): return length > 0
        case .success(nil): return false
        case .failure: return true
        }
    }
}
