/// The single-pass scanner shared by the request and response parsers (RFC 9112 §2–§5).
///
/// It walks the head once, left to right, validating as it goes; Strings are created only for the parts
/// the caller keeps (method, target, field names and values, reason phrase). Errors carry a short reason
/// with any untrusted bytes quoted through `ByteText.quote`.
struct HeadParser {
    let p: UnsafeBufferPointer<UInt8>
    var i = 0

    init(_ p: UnsafeBufferPointer<UInt8>) { self.p = p }

    /// Runs `body` on the bytes of `raw`. Heads come from socket buffers or arrays, which hold plain bytes,
    /// so viewing them as `UInt8` is sound and lets `String(decoding:)` take its contiguous fast path.
    static func withBytes<R>(
        _ raw: UnsafeRawBufferPointer, _ body: (inout HeadParser) throws(HTTPHeadError) -> R
    ) throws(HTTPHeadError) -> R {
        var parser = HeadParser(raw.assumingMemoryBound(to: UInt8.self))
        return try body(&parser)
    }

    static func withBytes<R>(
        _ array: [UInt8], _ body: (inout HeadParser) throws(HTTPHeadError) -> R
    ) throws(HTTPHeadError) -> R {
        let result: Result<R, HTTPHeadError> = array.withUnsafeBufferPointer { buf in
            var parser = HeadParser(buf)
            do throws(HTTPHeadError) { return .success(try body(&parser)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: - Pieces

    func string(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
    }

    /// The bytes from `start` up to (not including) the first CR, LF or `stop` byte, for quoting in errors.
    func snippet(from start: Int, stopAt stop: UInt8? = nil) -> String {
        var end = start
        while end < p.count, p[end] != ASCII.cr, p[end] != ASCII.lf, p[end] != stop, end - start < 64 { end += 1 }
        return ByteText.quote(UnsafeBufferPointer(rebasing: p[start..<end]))
    }

    /// Consumes a CRLF at `i`, or explains what is there instead (RFC 9112 §2.2: bare CR must be rejected
    /// or replaced; we reject bare LF too, as the brief asks).
    mutating func expectCRLF(_ context: String) throws(HTTPHeadError) {
        guard i < p.count else { throw .malformed("incomplete head") }
        if p[i] == ASCII.cr {
            guard i + 1 < p.count else { throw .malformed("incomplete head") }
            if p[i + 1] == ASCII.lf { i += 2; return }
            throw .malformed("bare CR in \(context)")
        }
        if p[i] == ASCII.lf { throw .malformed("bare LF in \(context)") }
        throw .malformed("invalid character in \(context) at \(snippet(from: i))")
    }

    /// If a CR or LF sits at `i`, the error that describes it best (bare CR/LF, or `properEnd` for a real
    /// CRLF arriving too early); nil otherwise.
    func lineEndError(_ context: String, properEnd: String) -> HTTPHeadError? {
        guard i < p.count else { return .malformed("incomplete head") }
        if p[i] == ASCII.lf { return .malformed("bare LF in \(context)") }
        if p[i] == ASCII.cr {
            if i + 1 < p.count && p[i + 1] == ASCII.lf { return .malformed(properEnd) }
            return .malformed("bare CR in \(context)")
        }
        return nil
    }

    /// HTTP-version, RFC 9112 §2.3: "HTTP/1.0" or "HTTP/1.1" exactly (case-sensitive); reads up to the next
    /// SP, CR or LF. Other well-formed versions are "unsupported" (the proxy may answer 505), the rest "invalid".
    mutating func version(_ context: String) throws(HTTPHeadError) -> HTTPVersion {
        let start = i
        while i < p.count, p[i] != ASCII.sp, p[i] != ASCII.cr, p[i] != ASCII.lf { i += 1 }
        let len = i - start
        // "HTTP/" = 48 54 54 50 2F
        let isHTTPName = len >= 5 && p[start] == 0x48 && p[start + 1] == 0x54 && p[start + 2] == 0x54
            && p[start + 3] == 0x50 && p[start + 4] == ASCII.slash
        if len == 8 && isHTTPName && ByteClass.isDigit(p[start + 5]) && p[start + 6] == 0x2E
            && ByteClass.isDigit(p[start + 7]) {
            let major = Int(p[start + 5] - ASCII.zero), minor = Int(p[start + 7] - ASCII.zero)
            if major == 1 && minor <= 1 { return HTTPVersion(major: major, minor: minor) }
            throw .malformed("unsupported HTTP version \(snippet(from: start, stopAt: ASCII.sp))")
        }
        if len == 0 { throw lineEndError(context, properEnd: "missing HTTP version") ?? .malformed("missing HTTP version") }
        throw .malformed("invalid HTTP version \(snippet(from: start, stopAt: ASCII.sp))")
    }

    // MARK: - Request line (RFC 9112 §3)

    /// request-line = method SP request-target SP HTTP-version CRLF
    mutating func requestLine() throws(HTTPHeadError) -> (method: String, target: String, version: HTTPVersion) {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line received before the request-line
        // (left over after a body). We ignore exactly one.
        if p.count >= 2 && p[0] == ASCII.cr && p[1] == ASCII.lf { i = 2 }

        let methodStart = i
        while i < p.count, ByteClass.isTchar(p[i]) { i += 1 }
        if i == methodStart {
            if let e = lineEndError("request line", properEnd: "empty request line") { throw e }
            throw .malformed("invalid request line \(snippet(from: methodStart))")
        }
        let methodEnd = i
        guard i < p.count, p[i] == ASCII.sp else {
            if let e = lineEndError("request line", properEnd: "missing request target") { throw e }
            throw .malformed("invalid character in method \(snippet(from: methodStart, stopAt: ASCII.sp))")
        }
        i += 1

        // request-target: visible ASCII only (RFC 9112 §3.2; SP, CTL, DEL and non-ASCII are invalid).
        let targetStart = i
        while i < p.count, ByteClass.isVisible(p[i]) { i += 1 }
        if i == targetStart {
            if i < p.count && p[i] == ASCII.sp { throw .malformed("extra whitespace in request line") }
            if let e = lineEndError("request line", properEnd: "missing request target") { throw e }
            throw .malformed("invalid character in request target \(snippet(from: targetStart, stopAt: ASCII.sp))")
        }
        let targetEnd = i
        guard i < p.count, p[i] == ASCII.sp else {
            if let e = lineEndError("request line", properEnd: "missing HTTP version") { throw e }
            throw .malformed("invalid character in request target \(snippet(from: targetStart, stopAt: ASCII.sp))")
        }
        i += 1
        if i < p.count && p[i] == ASCII.sp { throw .malformed("extra whitespace in request line") }

        let version = try version("request line")
        if i < p.count && p[i] == ASCII.sp { throw .malformed("extra whitespace in request line") }
        try expectCRLF("request line")
        return (string(methodStart, methodEnd), string(targetStart, targetEnd), version)
    }

    // MARK: - Status line (RFC 9112 §4)

    /// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF
    /// A missing "SP reason" after the code is accepted: servers in the wild send "HTTP/1.1 200\r\n" and
    /// RFC 9112 §4 tells clients to ignore the reason anyway.
    mutating func statusLine() throws(HTTPHeadError) -> (version: HTTPVersion, status: Int, reason: String) {
        if p.isEmpty { throw .malformed("incomplete head") }
        if let e = lineEndError("status line", properEnd: "empty status line") { throw e }
        let version = try version("status line")
        guard i < p.count, p[i] == ASCII.sp else {
            if let e = lineEndError("status line", properEnd: "missing status code") { throw e }
            throw .malformed("invalid status line")
        }
        i += 1
        // status-code = 3DIGIT; RFC 9110 §15: values outside 100..599 are invalid.
        var status = 0
        for k in 0..<3 {
            guard i + k < p.count, ByteClass.isDigit(p[i + k]) else {
                throw .malformed("invalid status code \(snippet(from: i, stopAt: ASCII.sp))")
            }
            status = status * 10 + Int(p[i + k] - ASCII.zero)
        }
        i += 3
        guard (100...599).contains(status) else {
            throw .malformed("invalid status code \(snippet(from: i - 3, stopAt: ASCII.sp))")
        }
        var reason = ""
        if i < p.count && p[i] == ASCII.sp {
            i += 1
            // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
            let start = i
            while i < p.count, ByteClass.isFieldContent(p[i]) { i += 1 }
            reason = string(start, i)
            if i < p.count, p[i] != ASCII.cr, p[i] != ASCII.lf {
                throw .malformed("invalid character in reason phrase")
            }
        } else if i < p.count && lineEndError("status line", properEnd: "") == nil {
            throw .malformed("invalid status code \(snippet(from: i - 3, stopAt: ASCII.sp))")
        }
        try expectCRLF("status line")
        return (version, status, reason)
    }

    // MARK: - Field lines (RFC 9112 §5)

    /// field-line = field-name ":" OWS field-value OWS, CRLF-terminated, up to the empty line that ends the
    /// head (consumed). Bytes after that empty line are ignored.
    mutating func fieldLines() throws(HTTPHeadError) -> [HTTPHeader] {
        var headers: [HTTPHeader] = []
        // Typical browser heads carry 8–20 fields: one allocation instead of five rounds of growth.
        headers.reserveCapacity(16)
        while true {
            guard i < p.count else { throw .malformed("incomplete head") }
            let first = p[i]
            if first == ASCII.cr || first == ASCII.lf {
                try expectCRLF("header section")  // the empty line: end of head
                return headers
            }
            // RFC 9112 §5.2: obs-fold is rejected with 400 (a server MAY do so; a proxy must not pass it on).
            if ByteClass.isOWS(first) { throw .malformed("obsolete line folding") }

            let nameStart = i
            while i < p.count, ByteClass.isTchar(p[i]) { i += 1 }
            let nameEnd = i
            guard i < p.count, p[i] == ASCII.colon else { throw nameError(nameStart) }
            if nameEnd == nameStart { throw .malformed("empty header name") }
            i += 1

            while i < p.count, ByteClass.isOWS(p[i]) { i += 1 }
            let valueStart = i
            var valueEnd = i
            var nonASCII = false
            // field-content: any byte but CTLs (HTAB allowed); DEL and obs-text allowed (RFC 9110 §5.5).
            while i < p.count {
                let b = p[i]
                if b > ASCII.sp {
                    nonASCII = nonASCII || b >= 0x80
                    i += 1
                    valueEnd = i
                } else if b == ASCII.sp || b == ASCII.htab {
                    i += 1
                } else {
                    break
                }
            }
            if lineEndError("header section", properEnd: "") == nil {
                throw .malformed("invalid character in header value of \(ByteText.quote(UnsafeBufferPointer(rebasing: p[nameStart..<nameEnd])))")
            }
            try expectCRLF("header section")
            headers.append(makeHeader(nameStart, nameEnd, valueStart, valueEnd, nonASCII: nonASCII))
        }
    }

    private func makeHeader(_ ns: Int, _ ne: Int, _ vs: Int, _ ve: Int, nonASCII: Bool) -> HTTPHeader {
        let name = string(ns, ne)
        let bytes = UnsafeBufferPointer(rebasing: p[vs..<ve])
        if nonASCII {
            if let value = String(validating: bytes, as: UTF8.self) {
                return HTTPHeader(parsedName: name, value: value, rawValue: nil)
            }
            return HTTPHeader(parsedName: name, value: String(decoding: bytes, as: UTF8.self), rawValue: Array(bytes))
        }
        return HTTPHeader(parsedName: name, value: String(decoding: bytes, as: UTF8.self), rawValue: nil)
    }

    /// Explains why the field name starting at `start` is not followed by a colon (cursor at the offender).
    private func nameError(_ start: Int) -> HTTPHeadError {
        guard i < p.count else { return .malformed("incomplete head") }
        if ByteClass.isOWS(p[i]) {
            var j = i
            while j < p.count, ByteClass.isOWS(p[j]) { j += 1 }
            if j < p.count && p[j] == ASCII.colon {
                // RFC 9112 §5.1: no whitespace is allowed between field name and colon; a server MUST reject.
                return .malformed("whitespace before colon in header \(snippet(from: start, stopAt: ASCII.colon))")
            }
        }
        if p[i] == ASCII.cr || p[i] == ASCII.lf {
            if let e = lineEndError("header section", properEnd: "missing colon in header line \(snippet(from: start))") {
                return e
            }
        }
        return .malformed("invalid character in header name \(snippet(from: start, stopAt: ASCII.colon))")
    }
}
