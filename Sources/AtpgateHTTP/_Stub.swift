// TEMPORARY compile stub — replaced by the helper's module.
public enum HTTPHeadError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge
    case malformed(String)
    public var description: String { "" }
}
public struct HeadScanner: Sendable {
    public init(limit: Int) {}
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(HTTPHeadError) -> Int? { fatalError() }
}
public struct HTTPHeader: Sendable, Equatable { public var name: String; public var value: String }
public struct HTTPVersion: Sendable, Equatable { public var major: Int; public var minor: Int }
public struct HTTPRequestHead: Sendable {
    public var method: String
    public var target: String
    public var version: HTTPVersion
    public var headers: [HTTPHeader]
    public static func parse(_ head: UnsafeRawBufferPointer) throws(HTTPHeadError) -> HTTPRequestHead { fatalError() }
    public static func parse(_ head: [UInt8]) throws(HTTPHeadError) -> HTTPRequestHead { fatalError() }
    public func values(_ name: String) -> [String] { fatalError() }
    public var keepAlive: Bool { fatalError() }
}
public struct HTTPResponseHead: Sendable {
    public var version: HTTPVersion; public var status: Int; public var reason: String; public var headers: [HTTPHeader]
    public static func parse(_ head: UnsafeRawBufferPointer) throws(HTTPHeadError) -> HTTPResponseHead { fatalError() }
    public static func parse(_ head: [UInt8]) throws(HTTPHeadError) -> HTTPResponseHead { fatalError() }
}
public enum RequestTarget: Sendable, Equatable {
    case authority(host: String, port: UInt16)
    case absolute(scheme: String, host: String, port: UInt16?, path: String)
    case origin(String)
    case asterisk
    public static func parse(method: String, target: String) throws(HTTPHeadError) -> RequestTarget { fatalError() }
}
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(UInt64)
    case chunked
    case untilClose
}
extension HTTPRequestHead  { public func bodyFraming() throws(HTTPHeadError) -> BodyFraming { fatalError() } }
extension HTTPResponseHead { public func bodyFraming(requestMethod: String) throws(HTTPHeadError) -> BodyFraming { fatalError() } }
public struct ChunkedFramer: Sendable {
    public init(maxLineLength: Int = 4096, maxTrailerBytes: Int = 16384) {}
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(HTTPHeadError) -> Int { fatalError() }
    public var isComplete: Bool { fatalError() }
}
public enum HeadRewriter {
    public static func upstreamRequest(_ head: HTTPRequestHead, host: String, port: UInt16?, path: String) -> [UInt8] { fatalError() }
    public static func clientResponse(_ head: HTTPResponseHead, close: Bool, clientVersion: HTTPVersion) -> [UInt8] { fatalError() }
}
public enum ErrorResponse {
    public static func bytes(status: Int, token: String, message: String) -> [UInt8] { fatalError() }
    public static func reasonPhrase(_ status: Int) -> String { fatalError() }
}
