/// Tracks a chunked body byte-exactly (RFC 9112 §7.1). The proxy forwards the bytes unchanged and needs to
/// know where the message ends, so this validates the framing and counts, but never copies or decodes.
///
///     chunked-body = *chunk last-chunk trailer-section CRLF
///     chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
///     last-chunk   = 1*("0") [ chunk-ext ] CRLF
///
/// Strict on purpose (RFC 9112 §11.2, request smuggling): bare LF, missing CRLF after data, signs, "0x",
/// whitespace after the size without ";", and sizes that overflow are errors. Works on any split of the input,
/// down to one byte per call. After an error the framer stays failed (the connection must be closed).
public struct ChunkedFramer: Sendable {
    private enum State: Sendable {
        case size          // reading chunk-size hex digits
        case sizeSpace     // BWS after the size: only ";" may follow
        case ext           // chunk-ext up to CR
        case sizeLF        // CR seen at the end of the chunk line
        case data          // chunk-data, `remaining` bytes left
        case dataCR, dataLF
        case trailerLineStart, trailerName, trailerValue, trailerLF
        case finalLF       // CR of the empty line ending the trailer section seen
        case complete
        case failed
    }

    public let maxLineLength: Int
    public let maxTrailerBytes: Int
    private var state = State.size
    private var size: UInt64 = 0
    private var sizeDigits = 0
    private var lineLength = 0
    private var remaining: UInt64 = 0
    private var trailerBytes = 0

    public init(maxLineLength: Int = 4096, maxTrailerBytes: Int = 16384) {
        self.maxLineLength = maxLineLength
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// True once the last-chunk, trailer section and final CRLF have been consumed.
    public var isComplete: Bool { state == .complete }

    /// Start over for the next message on the connection.
    public mutating func reset() { self = ChunkedFramer(maxLineLength: maxLineLength, maxTrailerBytes: maxTrailerBytes) }

    /// Consumes bytes from the start of `bytes`; returns how many belong to this message. `isComplete` is true once
    /// the last-chunk, trailers and final CRLF have been consumed (then the returned count stops exactly there).
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(HTTPHeadError) -> Int {
        try consume(bytes, onData: nil)
    }

    /// The same, and also hands each run of chunk data to `onData` (in order, without the framing):
    /// how a proxy de-chunks a body for an HTTP/1.0 client, which cannot read chunked coding.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer,
                                 onData: ((UnsafeRawBufferPointer) -> Void)?) throws(HTTPHeadError) -> Int {
        if state == .failed { throw .malformed("chunked body already failed") }
        let n = bytes.count
        var i = 0
        while i < n {
            switch state {
            case .complete:
                return i
            case .data:
                // Bulk path: chunk data is skipped, not inspected.
                let take = Swift.min(UInt64(n - i), remaining)
                if let onData, take > 0 { onData(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + Int(take))])) }
                i += Int(take)
                remaining -= take
                if remaining == 0 { state = .dataCR }
            default:
                do throws(HTTPHeadError) {
                    try step(bytes[i])
                } catch {
                    state = .failed
                    throw error
                }
                i += 1
            }
        }
        return i
    }

    /// Convenience for callers holding an array.
    public mutating func consume(_ bytes: [UInt8]) throws(HTTPHeadError) -> Int {
        let result: Result<Int, HTTPHeadError> = bytes.withUnsafeBytes { raw in
            do throws(HTTPHeadError) { return .success(try consume(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private mutating func step(_ b: UInt8) throws(HTTPHeadError) {
        switch state {
        case .size:
            if let digit = ByteClass.hexValue(b) {
                if size > UInt64.max >> 4 { throw .malformed("chunk size too large") }
                size = size << 4 | digit
                sizeDigits += 1
                try countLineByte()
                return
            }
            if sizeDigits == 0 { throw .malformed("invalid chunk size") }
            switch b {
            case ASCII.semicolon: state = .ext; try countLineByte()
            case ASCII.sp, ASCII.htab: state = .sizeSpace; try countLineByte()
            case ASCII.cr: state = .sizeLF
            case ASCII.lf: throw .malformed("bare LF in chunk line")
            default: throw .malformed("invalid chunk size")
            }
        case .sizeSpace:
            switch b {
            case ASCII.sp, ASCII.htab: try countLineByte()
            case ASCII.semicolon: state = .ext; try countLineByte()
            default: throw .malformed("invalid chunk size")
            }
        case .ext:
            // chunk-ext names, values and quoted strings: no CTLs other than HTAB.
            if b == ASCII.cr { state = .sizeLF; return }
            if b == ASCII.lf { throw .malformed("bare LF in chunk line") }
            if !ByteClass.isFieldContent(b) || b == ASCII.del { throw .malformed("invalid character in chunk extension") }
            try countLineByte()
        case .sizeLF:
            guard b == ASCII.lf else { throw .malformed("bare CR in chunk line") }
            if size == 0 {
                state = .trailerLineStart
            } else {
                remaining = size
                state = .data
            }
        case .dataCR:
            guard b == ASCII.cr else { throw .malformed("missing CRLF after chunk data") }
            state = .dataLF
        case .dataLF:
            guard b == ASCII.lf else { throw .malformed("missing CRLF after chunk data") }
            state = .size
            size = 0
            sizeDigits = 0
            lineLength = 0
        case .trailerLineStart:
            try countTrailerByte()
            if b == ASCII.cr { state = .finalLF; return }
            if b == ASCII.lf { throw .malformed("bare LF in trailer section") }
            if ByteClass.isOWS(b) { throw .malformed("obsolete line folding in trailer section") }
            if b == ASCII.colon { throw .malformed("empty trailer field name") }
            guard ByteClass.isTchar(b) else { throw .malformed("invalid character in trailer field name") }
            state = .trailerName
        case .trailerName:
            try countTrailerByte()
            if b == ASCII.colon { state = .trailerValue; return }
            guard ByteClass.isTchar(b) else { throw .malformed("invalid character in trailer field name") }
        case .trailerValue:
            try countTrailerByte()
            if b == ASCII.cr { state = .trailerLF; return }
            if b == ASCII.lf { throw .malformed("bare LF in trailer section") }
            guard ByteClass.isFieldContent(b) else { throw .malformed("invalid character in trailer field value") }
        case .trailerLF:
            try countTrailerByte()
            guard b == ASCII.lf else { throw .malformed("bare CR in trailer section") }
            state = .trailerLineStart
        case .finalLF:
            try countTrailerByte()
            guard b == ASCII.lf else { throw .malformed("bare CR in trailer section") }
            state = .complete
        case .data, .complete, .failed:
            preconditionFailure("handled by consume")
        }
    }

    @inline(__always)
    private mutating func countLineByte() throws(HTTPHeadError) {
        lineLength += 1
        if lineLength > maxLineLength { throw .malformed("chunk line too long") }
    }

    @inline(__always)
    private mutating func countTrailerByte() throws(HTTPHeadError) {
        trailerBytes += 1
        if trailerBytes > maxTrailerBytes { throw .malformed("trailer section too large") }
    }
}
