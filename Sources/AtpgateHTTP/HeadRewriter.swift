/// Builds the heads a forward proxy sends on (RFC 9110 §7.6, RFC 9112 §3.2.2). Output is wire bytes,
/// ready to write; bodies are forwarded separately and unchanged.
public enum HeadRewriter {
    /// The Via entry this proxy adds (RFC 9110 §7.6.3: received-protocol SP received-by).
    static let viaEntry = "1.1 atpgate"

    /// The request a forward proxy sends upstream (RFC 9110 §7.6.1, RFC 9112 §3.2.2): request line in origin form
    /// "METHOD /path HTTP/1.1", Host replaced by the target URI's authority (port only when not 80), hop-by-hop headers
    /// removed (Connection and every header it names, Proxy-Connection, Keep-Alive, Proxy-Authorization, TE, Trailer,
    /// Upgrade), "Via: 1.1 atpgate" appended (to an existing Via as ", 1.1 atpgate"), and "Connection: close" unless
    /// `keepAlive` (the proxy means to reuse the upstream connection: HTTP/1.1 persists by default, RFC 9112 §9.3).
    ///
    /// Also: Host goes first (RFC 9110 §7.2); Content-Length is dropped when Transfer-Encoding is present
    /// (RFC 9112 §6.3 ¶3); Connection cannot remove Content-Length, Transfer-Encoding or Host; fields that could
    /// not be written safely (see `isWritable`) are dropped. `host`/`path` are expected from
    /// `RequestTarget.parse`; as a safeguard, bytes not allowed there are dropped (host) or percent-encoded (path).
    public static func upstreamRequest(_ head: HTTPRequestHead, host: String, port: UInt16?, path: String,
                                       keepAlive: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(estimatedSize(head.headers) + head.method.utf8.count + path.utf8.count + host.utf8.count + 96)
        appendVisible(head.method, to: &out)
        out.append(ASCII.sp)
        appendPath(path, to: &out)
        append(" HTTP/1.1\r\nHost: ", to: &out)
        appendVisible(host, to: &out)
        if let port, port != 80 {
            out.append(ASCII.colon)
            append(String(port), to: &out)
        }
        append("\r\n", to: &out)
        appendFields(head.headers, skippingHost: true, to: &out)
        append(keepAlive ? "\r\n" : "Connection: close\r\n\r\n", to: &out)
        return out
    }

    /// The response a forward proxy sends back: status line as received (HTTP/1.1), hop-by-hop removed as above,
    /// Via appended, plus "Connection: close" when `close` is true (else "Connection: keep-alive" only for 1.0 clients).
    ///
    /// The status line always says HTTP/1.1 (RFC 9110 §6.2: a proxy sends its own version). Control bytes in the
    /// reason are replaced by spaces.
    public static func clientResponse(_ head: HTTPResponseHead, close: Bool, clientVersion: HTTPVersion) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(estimatedSize(head.headers) + head.reason.utf8.count + 80)
        append("HTTP/1.1 ", to: &out)
        appendStatus(head.status, to: &out)
        out.append(ASCII.sp)
        for b in head.reason.utf8 { out.append(ByteClass.isFieldContent(b) ? b : ASCII.sp) }
        append("\r\n", to: &out)
        appendFields(head.headers, skippingHost: false, to: &out)
        if close {
            append("Connection: close\r\n", to: &out)
        } else if clientVersion == .http1_0 {
            // RFC 9112 §9.3: an HTTP/1.0 client only keeps the connection with an explicit keep-alive.
            append("Connection: keep-alive\r\n", to: &out)
        }
        append("\r\n", to: &out)
        return out
    }

    /// Forwardable fields in order, with our Via entry appended to the last Via (or added at the end).
    private static func appendFields(_ headers: [HTTPHeader], skippingHost: Bool, to out: inout [UInt8]) {
        let kinds = headers.map { FieldKind($0.name) }
        let filter = HopByHopFilter(headers, kinds: kinds)
        var keep = [Bool](repeating: false, count: headers.count)
        var lastVia = -1
        for k in headers.indices {
            let kind = kinds[k]
            keep[k] = !(filter.removes(headers[k], kind: kind) || (skippingHost && kind == .host))
                && headers[k].isWritable
            if keep[k] && kind == .via { lastVia = k }
        }
        for k in headers.indices where keep[k] {
            let h = headers[k]
            if k == lastVia {
                append(h.name, to: &out)
                append(": ", to: &out)
                if let raw = h.rawValue { out.append(contentsOf: raw) } else { append(h.value, to: &out) }
                if !(h.rawValue?.isEmpty ?? h.value.isEmpty) { append(", ", to: &out) }
                append(viaEntry, to: &out)
                append("\r\n", to: &out)
            } else {
                h.write(into: &out)
            }
        }
        if lastVia < 0 { append("Via: \(viaEntry)\r\n", to: &out) }
    }

    private static func estimatedSize(_ headers: [HTTPHeader]) -> Int {
        var n = 0
        for h in headers { n += h.name.utf8.count + h.value.utf8.count + 4 }
        return n
    }

    @inline(__always)
    private static func append(_ s: String, to out: inout [UInt8]) { out.appendUTF8(s) }

    private static func appendStatus(_ status: Int, to out: inout [UInt8]) {
        let s = (100...999).contains(status) ? status : 502
        out.append(ASCII.zero + UInt8(s / 100))
        out.append(ASCII.zero + UInt8(s / 10 % 10))
        out.append(ASCII.zero + UInt8(s % 10))
    }

    /// Method and host: only visible ASCII can be written on the request line / in Host.
    private static func appendVisible(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { bytes in
            if allVisible(bytes) { out.append(contentsOf: bytes); return }   // always, for parsed input
            for b in bytes where ByteClass.isVisible(b) { out.append(b) }
        }
    }

    /// The path: visible ASCII as is, anything else percent-encoded (RFC 3986 §2.1), "/" when empty.
    private static func appendPath(_ path: String, to out: inout [UInt8]) {
        if path.isEmpty { out.append(ASCII.slash); return }
        var path = path
        path.withUTF8 { bytes in
            if allVisible(bytes) { out.append(contentsOf: bytes); return }   // always, for parsed input
            let hex: StaticString = "0123456789ABCDEF"
            for b in bytes {
                if ByteClass.isVisible(b) {
                    out.append(b)
                } else {
                    out.append(ASCII.percent)
                    hex.withUTF8Buffer { h in
                        out.append(h[Int(b >> 4)])
                        out.append(h[Int(b & 0xF)])
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func allVisible(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in bytes where !ByteClass.isVisible(b) { return false }
        return true
    }
}
