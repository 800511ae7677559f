/// Finds the end of a head ("\r\n\r\n", RFC 9112 §2.1) in bytes arriving in pieces, without rescanning
/// from the start.
///
/// The caller keeps the head buffered and feeds the whole buffer each time more bytes arrive; the scanner
/// remembers how far it has looked. Only LF bytes are inspected closely: a head ends at the first LF whose
/// three predecessors are CR LF CR, and since those predecessors are always in the buffer a CRLFCRLF split
/// across reads needs no extra state.
public struct HeadScanner: Sendable {
    /// Maximum head size in bytes, the final CRLFCRLF included.
    public let limit: Int
    /// Index of the first byte not yet examined.
    private var scanned = 0

    public init(limit: Int) {
        precondition(limit >= 4, "a head is at least 4 bytes")
        self.limit = limit
    }

    /// Feed the whole buffered head so far (bytes[0..<count]); returns the head length incl. the final CRLFCRLF
    /// when complete, nil when more is needed; throws .tooLarge once `limit` bytes hold no complete head.
    ///
    /// Also throws `.malformed` as soon as a bare LF (an LF not preceded by CR) appears: RFC 9112 §2.2 lets a
    /// recipient reject it, and failing fast gives the client a 400 instead of a 431/timeout for a
    /// head like "GET / HTTP/1.1\n\n" that would otherwise never "complete".
    /// Bytes past `limit` or past the head's end (a body, a pipelined request) are not examined.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(HTTPHeadError) -> Int? {
        let count = bytes.count
        // A buffer shorter than what we already scanned can only be a new message: start over.
        if count < scanned { scanned = 0 }
        let end = Swift.min(count, limit)
        var i = scanned
        while i < end {
            if bytes[i] == ASCII.lf {
                if i == 0 || bytes[i &- 1] != ASCII.cr {
                    throw .malformed("bare LF in head")
                }
                if i >= 3 && bytes[i &- 2] == ASCII.lf && bytes[i &- 3] == ASCII.cr {
                    scanned = i &+ 1
                    return i &+ 1
                }
            }
            i &+= 1
        }
        scanned = end
        if count >= limit { throw .tooLarge }
        return nil
    }

    /// Convenience for callers holding an array.
    public mutating func scan(_ bytes: [UInt8]) throws(HTTPHeadError) -> Int? {
        let result: Result<Int?, HTTPHeadError> = bytes.withUnsafeBytes { raw in
            do throws(HTTPHeadError) { return .success(try scan(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Forget progress, to scan the next head on a keep-alive connection from a fresh buffer.
    public mutating func reset() { scanned = 0 }
}
