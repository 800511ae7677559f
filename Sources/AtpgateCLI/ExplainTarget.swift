import AtpgateHTTP
import AtpgateNet
import AtpgatePolicy

/// What `atpgate explain` is asked about: `host:port` (a CONNECT), an `http://` URL (a forwarded
/// request) or an `https://` URL (a CONNECT, and the request inside it when the tunnel is inspected),
/// parsed and normalised exactly as the proxy parses a request's target.
struct ExplainTarget {
    let host: Host
    let port: UInt16
    let kind: RequestKind
    /// For an `https://` URL: the path and query of the request inside the tunnel. Not validated here: the
    /// proxy only sees it when the tunnel is inspected (`Policy.decideInner` refuses a bad one then).
    let innerPath: String?

    init(_ text: String) throws(ExplainError) {
        let lowered = text.lowercased()
        let hostText: String
        var innerPath: String? = nil
        if lowered.hasPrefix("https://") {
            guard case .absolute(_, let host, let port, let path)? = try? RequestTarget.parse(method: "GET", target: text) else {
                throw ExplainError("'\(text)' is not a valid https:// URL")
            }
            hostText = host
            self.port = port ?? 443
            kind = .connect
            innerPath = path
        } else if lowered.hasPrefix("http://") {
            guard case .absolute(_, let host, let port, let path)? = try? RequestTarget.parse(method: "GET", target: text) else {
                throw ExplainError("'\(text)' is not a valid http:// URL")
            }
            do {
                try Policy.validateRequestPath(path)
            } catch {
                throw ExplainError("the proxy answers 400 to this URL: \(error.reason)")
            }
            hostText = host
            self.port = port ?? 80
            kind = .http(path: path)
        } else {
            guard case .authority(let host, let port)? = try? RequestTarget.parse(method: "CONNECT", target: text) else {
                throw ExplainError("'\(text)' is neither host:port nor an http:// URL")
            }
            hostText = host
            self.port = port
            kind = .connect
        }
        self.innerPath = innerPath
        do {
            host = try Host.normalize(hostText)
        } catch {
            throw ExplainError("the proxy answers 400 to this host: \(error.reason)")
        }
    }
}

struct ExplainError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
