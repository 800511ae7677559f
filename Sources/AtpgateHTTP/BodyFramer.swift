/// Tracks a message body as its bytes pass through a relay: where it ends, and which bytes go on. A pure
/// value (no I/O): the relay reads, hands the bytes here, and forwards what `consume` emits.
///
/// - `stream`: every byte is body until the source closes (tunnels, close-delimited responses);
/// - `length(n)`: exactly n bytes (Content-Length);
/// - `chunked`: a chunked body forwarded byte for byte, ending after its last chunk, trailers and CRLF;
/// - `dechunk`: a chunked body of which only the chunk data goes on (for HTTP/1.0 clients).
/// Bytes past the end are not consumed: they belong to whatever follows (a pipelined request).
public struct BodyFramer: Sendable {
    public enum Mode: Sendable, Equatable {
        case stream
        case length(UInt64)
        case chunked
        case dechunk
    }

    public let mode: Mode
    private var remaining: UInt64
    private var chunked = ChunkedFramer()
    /// The body ended (never for `stream`, which ends when the source closes).
    public private(set) var isComplete: Bool

    public init(_ mode: Mode) {
        self.mode = mode
        if case .length(let length) = mode {
            remaining = length
            isComplete = length == 0
        } else {
            remaining = 0
            isComplete = false
        }
    }

    /// The most bytes worth reading next: the rest of a Content-Length body, else nil (no limit). A
    /// relay that reads no more than this never reads a pipelined request's bytes into the body.
    public var readLimit: UInt64? {
        if case .length = mode { return remaining }
        return nil
    }

    /// A relay that can move bytes without looking at them (splice) may do so only for stream bodies.
    public var isOpaque: Bool { mode == .stream }

    /// Consumes the body's bytes from the start of `bytes` and returns how many it took (fewer than
    /// `bytes.count` only once complete). `emit` receives what goes on, in order: every consumed byte,
    /// or for `dechunk` only the chunk data (no empty runs). Throws on a malformed chunked body; after
    /// that the framer stays failed.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer,
                                 emit: (UnsafeRawBufferPointer) -> Void) throws(HTTPHeadError) -> Int {
        guard !isComplete else { return 0 }
        let taken: Int
        switch mode {
        case .stream:
            taken = bytes.count
            if taken > 0 { emit(bytes) }
        case .length:
            taken = Int(min(UInt64(bytes.count), remaining))
            remaining -= UInt64(taken)
            if taken > 0 { emit(UnsafeRawBufferPointer(rebasing: bytes[0..<taken])) }
            isComplete = remaining == 0
        case .chunked:
            taken = try chunked.consume(bytes)
            if taken > 0 { emit(UnsafeRawBufferPointer(rebasing: bytes[0..<taken])) }
            isComplete = chunked.isComplete
        case .dechunk:
            // ChunkedFramer takes an optional (so escaping) closure; it never keeps it past the call.
            taken = try withoutActuallyEscaping(emit) { emit throws(HTTPHeadError) in
                try chunked.consume(bytes) { data in if !data.isEmpty { emit(data) } }
            }
            isComplete = chunked.isComplete
        }
        return taken
    }

    /// What the source closing now means: the end of a stream body, or a body cut short.
    public var closeEndsBody: Bool { mode == .stream }
}
