/// A parsed request head (RFC 9112 §3 and §5).
public struct HTTPRequestHead: Sendable {
    /// The method token, case-sensitive as received (RFC 9110 §9.1).
    public var method: String
    /// The request-target exactly as received; interpret it with `RequestTarget.parse(method:target:)`.
    public var target: String
    public var version: HTTPVersion
    /// Field lines in order, names as received.
    public var headers: [HTTPHeader]

    public init(method: String, target: String, version: HTTPVersion, headers: [HTTPHeader]) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// Parses a complete head including its final CRLFCRLF (as delimited by `HeadScanner`).
    /// One empty line before the request-line is ignored (RFC 9112 §2.2); bytes after the head's empty line
    /// are ignored.
    public static func parse(_ head: UnsafeRawBufferPointer) throws(HTTPHeadError) -> HTTPRequestHead {
        try HeadParser.withBytes(head) { (p: inout HeadParser) throws(HTTPHeadError) in try parse(&p) }
    }

    public static func parse(_ head: [UInt8]) throws(HTTPHeadError) -> HTTPRequestHead {
        try HeadParser.withBytes(head) { (p: inout HeadParser) throws(HTTPHeadError) in try parse(&p) }
    }

    private static func parse(_ p: inout HeadParser) throws(HTTPHeadError) -> HTTPRequestHead {
        let line = try p.requestLine()
        let headers = try p.fieldLines()
        return HTTPRequestHead(method: line.method, target: line.target, version: line.version, headers: headers)
    }

    /// Values of every field named `name`, compared case-insensitively (RFC 9110 §5.1), in order.
    public func values(_ name: String) -> [String] { headers.values(named: name) }

    /// Whether the client wants the connection kept open after this exchange (RFC 9112 §9.3):
    /// HTTP/1.1 unless the "close" connection option is present; HTTP/1.0 only with "keep-alive".
    /// "close" wins when both are present.
    public var keepAlive: Bool { connectionAllowsKeepAlive(headers, version: version) }
}

/// Shared by requests and responses: the persistence rule of RFC 9112 §9.3 over Connection options.
func connectionAllowsKeepAlive(_ headers: [HTTPHeader], version: HTTPVersion) -> Bool {
    var close = false, keepAlive = false
    for h in headers where h.hasName("connection") {
        forEachListElement(h.value) { token in
            if asciiEqualCaseInsensitive(token, "close".utf8) { close = true }
            else if asciiEqualCaseInsensitive(token, "keep-alive".utf8) { keepAlive = true }
        }
    }
    if close { return false }
    return version == .http1_1 || keepAlive
}

/// Calls `body` with each non-empty element of a comma-separated list (RFC 9110 §5.6.1), OWS trimmed.
/// Empty elements are skipped, as recipients must accept them.
func forEachListElement(_ value: String, _ body: (Substring.UTF8View) -> Void) {
    let utf8 = value.utf8
    var start = utf8.startIndex
    while true {
        let end = utf8[start...].firstIndex(of: ASCII.comma) ?? utf8.endIndex
        var a = start, b = end
        while a < b, ByteClass.isOWS(utf8[a]) { a = utf8.index(after: a) }
        while a < b, ByteClass.isOWS(utf8[utf8.index(before: b)]) { b = utf8.index(before: b) }
        if a < b { body(value[a..<b].utf8) }
        if end == utf8.endIndex { return }
        start = utf8.index(after: end)
    }
}
