/// A parsed response head (RFC 9112 §4 and §5).
public struct HTTPResponseHead: Sendable {
    public var version: HTTPVersion
    /// 100...599 (RFC 9110 §15).
    public var status: Int
    /// The reason-phrase, possibly empty. Non-UTF-8 bytes are replaced by U+FFFD (clients ignore it, RFC 9112 §4).
    public var reason: String
    /// Field lines in order, names as received.
    public var headers: [HTTPHeader]

    public init(version: HTTPVersion, status: Int, reason: String, headers: [HTTPHeader]) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// Parses a complete head including its final CRLFCRLF. Bytes after the head's empty line are ignored.
    public static func parse(_ head: UnsafeRawBufferPointer) throws(HTTPHeadError) -> HTTPResponseHead {
        try HeadParser.withBytes(head) { (p: inout HeadParser) throws(HTTPHeadError) in try parse(&p) }
    }

    public static func parse(_ head: [UInt8]) throws(HTTPHeadError) -> HTTPResponseHead {
        try HeadParser.withBytes(head) { (p: inout HeadParser) throws(HTTPHeadError) in try parse(&p) }
    }

    private static func parse(_ p: inout HeadParser) throws(HTTPHeadError) -> HTTPResponseHead {
        let line = try p.statusLine()
        let headers = try p.fieldLines()
        return HTTPResponseHead(version: line.version, status: line.status, reason: line.reason, headers: headers)
    }

    /// Values of every field named `name`, compared case-insensitively, in order.
    public func values(_ name: String) -> [String] { headers.values(named: name) }

    /// Whether the server lets the connection persist (RFC 9112 §9.3), same rule as for requests.
    public var keepAlive: Bool { connectionAllowsKeepAlive(headers, version: version) }
}
