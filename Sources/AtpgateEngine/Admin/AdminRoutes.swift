import AtpgateHTTP

/// What the admin listener answers (issue 12). Operators' probes and Prometheus use these paths:
/// never rename one.
enum AdminRoute: String, CaseIterable {
    /// The process serves: its loops answer.
    case healthz = "/healthz"
    /// Listening with a policy loaded; 503 while draining, so a load balancer stops sending new clients.
    case readyz = "/readyz"
    /// Prometheus text format.
    case metrics = "/metrics"
    /// The effective policy as JSON, each rule with where it came from.
    case policy = "/policy"

    /// The route for a request target (origin-form; a query is ignored, as Prometheus may add one).
    init?(target: String) {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        self.init(rawValue: path)
    }
}

/// An admin answer: status, content type and body; always `Connection: close`.
struct AdminResponse {
    var status: Int
    var contentType = "text/plain; charset=utf-8"
    var body: [UInt8]
    /// The admin listener's own constant fields (never a peer's text).
    var extraHeaders: [HTTPHeader] = []

    static func text(_ status: Int, _ text: String) -> AdminResponse {
        AdminResponse(status: status, body: Array((text + "\n").utf8))
    }

    /// The bytes on the wire; a HEAD request gets the head only.
    func bytes(headOnly: Bool) -> [UInt8] {
        var out = Array("HTTP/1.1 \(status) \(ErrorResponse.reasonPhrase(status))\r\n".utf8)
        out.append(contentsOf: "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n".utf8)
        for header in extraHeaders { out.append(contentsOf: "\(header.name): \(header.value)\r\n".utf8) }
        out.append(contentsOf: "Cache-Control: no-store\r\nConnection: close\r\n\r\n".utf8)
        if !headOnly { out.append(contentsOf: body) }
        return out
    }
}
