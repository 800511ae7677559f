/// Reads an upstream's answer to one forwarded request up to its final response head: any number of
/// interim (1xx) responses, bounded, then the final head. Pure (no sockets): the engine feeds it the bytes
/// it reads and acts on the events; the response fuzz target drives the same code with hostile input.
///
/// - Interim responses are handled in a loop, never by recursion, and at most `maxInterim` are accepted
///   per request: an upstream that answers `100 Continue` without end is cut off with an error (the engine
///   answers 502) instead of holding the client.
/// - Interim responses are forwarded to HTTP/1.1 clients only (RFC 9110 §15.2: a proxy must not forward
///   a 1xx to an HTTP/1.0 client); `101 Switching Protocols` is an error, since no Upgrade is forwarded.
/// - Bytes are consumed from an offset, so a burst of interim heads in one read costs one pass.
public struct UpstreamResponseReader: Sendable {
    /// Interim responses accepted per request before the upstream is considered faulty. One or two is what
    /// real servers send (100 Continue, 103 Early Hints); 16 leaves room for chatty ones.
    public static let defaultMaxInterim = 16

    public enum Event: Sendable, Equatable {
        /// More bytes are needed.
        case needMore
        /// An interim response: `forward` is the rewritten head for the client, nil when the client
        /// speaks HTTP/1.0 and must not see it.
        case interim(status: Int, forward: [UInt8]?)
        /// The final response head, and the body bytes that arrived behind it.
        case final(ResponsePlan, body: [UInt8])
    }

    public enum Failure: Error, Sendable, Equatable {
        case headTooLarge(limit: Int)
        case malformed(String)
        case tooManyInterim(limit: Int)
        case switchingProtocols
        case badFraming(String)

        /// One line for the 502's body and the log.
        public var message: String {
            switch self {
            case .headTooLarge(let limit): return "upstream response head larger than \(limit) bytes"
            case .malformed(let reason): return "invalid upstream response: \(reason)"
            case .tooManyInterim(let limit): return "upstream sent more than \(limit) interim (1xx) responses"
            case .switchingProtocols: return "upstream switched protocols although no upgrade was forwarded"
            case .badFraming(let reason): return "invalid upstream response framing: \(reason)"
            }
        }
    }

    public let requestMethod: String
    public let clientVersion: HTTPVersion
    public let clientKeepAlive: Bool
    public let maxInterim: Int
    private var scanner: HeadScanner
    private var buffer: [UInt8] = []
    /// Start of the head being read in `buffer`; everything before it is consumed.
    private var start = 0
    public private(set) var interimCount = 0
    /// True once the final head was returned (or an error thrown): nothing more is read.
    public private(set) var isDone = false

    public init(requestMethod: String, clientVersion: HTTPVersion, clientKeepAlive: Bool, headLimit: Int,
                maxInterim: Int = UpstreamResponseReader.defaultMaxInterim) {
        self.requestMethod = requestMethod
        self.clientVersion = clientVersion
        self.clientKeepAlive = clientKeepAlive
        self.maxInterim = maxInterim
        self.scanner = HeadScanner(limit: headLimit)
    }

    /// Adds bytes read from the upstream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next event from the bytes appended so far. Call until `.needMore` or `.final`.
    public mutating func next() throws(Failure) -> Event {
        guard !isDone else { return .needMore }
        do throws(Failure) {
            return try step()
        } catch {
            isDone = true
            throw error
        }
    }

    private mutating func step() throws(Failure) -> Event {
        let from = start
        let scanned: Result<Int?, HTTPHeadError> = buffer.withUnsafeBytes { all in
            let pending = UnsafeRawBufferPointer(rebasing: all[from...])
            do throws(HTTPHeadError) { return .success(try scanner.scan(pending)) } catch { return .failure(error) }
        }
        let length: Int
        switch scanned {
        case .success(nil): return .needMore
        case .success(let found?): length = found
        case .failure(.tooLarge): throw .headTooLarge(limit: scanner.limit)
        case .failure(.malformed(let reason)): throw .malformed(reason)
        }
        let parsed: Result<HTTPResponseHead, HTTPHeadError> = buffer.withUnsafeBytes { all in
            let head = UnsafeRawBufferPointer(rebasing: all[from..<(from + length)])
            do throws(HTTPHeadError) { return .success(try HTTPResponseHead.parse(head)) } catch { return .failure(error) }
        }
        let response: HTTPResponseHead
        switch parsed {
        case .success(let head): response = head
        case .failure(.tooLarge): throw .headTooLarge(limit: scanner.limit)
        case .failure(.malformed(let reason)): throw .malformed(reason)
        }
        start = from + length
        scanner = HeadScanner(limit: scanner.limit)

        if response.status == 101 { throw .switchingProtocols }
        if (100...199).contains(response.status) {
            interimCount += 1
            if interimCount > maxInterim { throw .tooManyInterim(limit: maxInterim) }
            return .interim(status: response.status, forward: interimHead(response))
        }
        let plan: ResponsePlan
        do throws(HTTPHeadError) {
            plan = try ResponsePlan.make(response, requestMethod: requestMethod, clientVersion: clientVersion,
                                         clientKeepAlive: clientKeepAlive)
        } catch {
            switch error {
            case .malformed(let reason): throw .badFraming(reason)
            case .tooLarge: throw .headTooLarge(limit: scanner.limit)
            }
        }
        isDone = true
        let body = Array(buffer[start...])
        buffer = []
        start = 0
        return .final(plan, body: body)
    }

    /// An interim head as the client gets it: hop-by-hop fields removed, Via added, no framing fields
    /// (1xx has no body); nil for an HTTP/1.0 client.
    private func interimHead(_ response: HTTPResponseHead) -> [UInt8]? {
        guard clientVersion != .http1_0 else { return nil }
        var head = response
        head.headers.removeAll { $0.hasName("content-length") || $0.hasName("transfer-encoding") }
        return HeadRewriter.clientResponse(head, close: false, clientVersion: clientVersion)
    }
}
