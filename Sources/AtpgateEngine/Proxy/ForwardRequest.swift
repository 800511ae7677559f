import AtpgatePolicy
import AtpgateHTTP

/// What a request asks the proxy to do, derived from its head: CONNECT to host:port, or forward
/// an absolute-form plain-HTTP request. Every shape the proxy does not serve is a 400 here.
struct ForwardRequest {
    let kind: RequestKind
    let host: String            // as the client wrote it (brackets kept for IPv6)
    let port: UInt16
    let explicitPort: UInt16?   // the URL's port when written (for the upstream Host header)
    let framing: Pump.Framing   // request body framing (CONNECT: none)

    init(head: HTTPRequestHead) throws(ProxyFailure) {
        let target: RequestTarget
        do {
            target = try RequestTarget.parse(method: head.method, target: head.target)
        } catch {
            throw .badRequest(ProxyConnection.reason(error))
        }
        switch target {
        case .authority(let host, let port):
            guard head.method == "CONNECT" else { throw .badRequest("authority-form target is only valid for CONNECT") }
            kind = .connect
            self.host = host
            self.port = port
            explicitPort = port
            framing = .length(0)
        case .absolute(let scheme, let host, let port, let path):
            guard head.method != "CONNECT" else { throw .badRequest("CONNECT needs an authority-form target host:port") }
            switch scheme {
            case "http": break
            case "https": throw .badRequest("https:// URLs must be sent with CONNECT")
            default: throw .badRequest("unsupported URL scheme '\(scheme)'")
            }
            do {
                try Policy.validateRequestPath(path)
            } catch {
                throw .badRequest("invalid path: \(error.reason)")
            }
            kind = .http(path: path)
            self.host = host
            self.port = port ?? 80
            explicitPort = port
            framing = try Self.bodyFraming(head)
        case .origin:
            throw .badRequest("origin-form requests to the proxy itself are not served; send an absolute URL or CONNECT")
        case .asterisk:
            throw .badRequest("OPTIONS * is not served by this proxy")
        }
    }

    /// How a request's body is read (RFC 9112 §6.3): none, a length, or chunked; a body delimited by the
    /// connection's close is not allowed in a request (400). Shared with the requests inside an inspected
    /// tunnel.
    static func bodyFraming(_ head: HTTPRequestHead) throws(ProxyFailure) -> Pump.Framing {
        do throws(HTTPHeadError) {
            switch try head.bodyFraming() {
            case .none: return .length(0)
            case .contentLength(let length): return .length(length)
            case .chunked: return .chunked
            case .untilClose: throw HTTPHeadError.malformed("a request body cannot be delimited by close")
            }
        } catch {
            throw .badRequest(ProxyConnection.reason(error))
        }
    }
}
