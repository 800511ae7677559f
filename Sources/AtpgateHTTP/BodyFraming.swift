/// How a message body is delimited (RFC 9112 §6.3).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(UInt64)
    case chunked
    /// Responses only: the body ends when the server closes the connection.
    case untilClose
}

extension HTTPRequestHead {
    /// RFC 9112 §6.3 for requests, strictly, because a proxy that frames a request differently from the
    /// origin server enables request smuggling (RFC 9112 §11.2):
    /// - Content-Length and Transfer-Encoding together -> malformed;
    /// - Transfer-Encoding in an HTTP/1.0 request -> malformed (§6.1: the framing must be treated as faulty);
    /// - Transfer-Encoding whose final coding is not `chunked`, or with `chunked` earlier -> malformed (§6.3 ¶4);
    /// - Content-Length: digits only, ≤ 2^53, repeated/list values identical (§6.3 ¶5, RFC 9110 §8.6);
    /// - neither -> `.none`.
    public func bodyFraming() throws(HTTPHeadError) -> BodyFraming {
        let te = try transferEncodingEndsInChunked(headers)
        let cl = try contentLength(headers)
        switch (te, cl) {
        case (nil, nil): return .none
        case (nil, let length?): return .contentLength(length)
        case (_?, _?): throw .malformed("both Content-Length and Transfer-Encoding")
        case (let chunked?, nil):
            if version == .http1_0 { throw .malformed("Transfer-Encoding in HTTP/1.0 request") }
            guard chunked else { throw .malformed("Transfer-Encoding must end in chunked") }
            return .chunked
        }
    }
}

extension HTTPResponseHead {
    /// RFC 9112 §6.3 for responses, in its order of precedence, strict where a lenient reading would let the
    /// proxy and the client disagree about where the body ends (response splitting):
    /// 1. responses to HEAD, 1xx, 204 and 304 have no body; so has a 2xx to CONNECT (a tunnel follows);
    /// 2. Transfer-Encoding: exactly one coding, `chunked` -> `.chunked`. Everything else with the field throws
    ///    (the proxy answers 502): in an HTTP/1.0 response (§6.1: the framing must be treated as faulty),
    ///    `chunked` twice, `chunked` not last, and codings other than chunked (atpgate relays no coding it
    ///    cannot frame). Transfer-Encoding overrides a Content-Length (§6.3 ¶3), which the relay then drops;
    /// 3. a valid Content-Length -> `.contentLength`; an invalid one throws;
    /// 4. otherwise `.untilClose`.
    public func bodyFraming(requestMethod: String) throws(HTTPHeadError) -> BodyFraming {
        if !hasBody(requestMethod: requestMethod) { return .none }
        if let chunked = try transferEncodingEndsInChunked(headers) {
            if version == .http1_0 { throw .malformed("Transfer-Encoding in an HTTP/1.0 response") }
            guard chunked, transferCodingCount(headers) == 1 else {
                throw .malformed("unsupported Transfer-Encoding \(ByteText.quote(values("transfer-encoding").joined(separator: ", ")))")
            }
            return .chunked
        }
        if let length = try contentLength(headers) { return .contentLength(length) }
        return .untilClose
    }

    /// False for the responses that never carry a body, whatever their fields say (RFC 9112 §6.3 ¶1-2).
    public func hasBody(requestMethod: String) -> Bool {
        if requestMethod == "HEAD" || (100...199).contains(status) || status == 204 || status == 304 { return false }
        return !(requestMethod == "CONNECT" && (200...299).contains(status))
    }
}

/// How many transfer codings the Transfer-Encoding fields list in all.
func transferCodingCount(_ headers: [HTTPHeader]) -> Int {
    var count = 0
    for h in headers where h.hasName("transfer-encoding") { forEachListElement(h.value) { _ in count += 1 } }
    return count
}

/// nil without Transfer-Encoding; true when the codings (across all fields, case-insensitive) end in exactly
/// one `chunked`; false when they end in something else. Throws when `chunked` appears before the end
/// (RFC 9112 §7: a sender MUST NOT apply chunked more than once) or when the field is present but empty.
func transferEncodingEndsInChunked(_ headers: [HTTPHeader]) throws(HTTPHeadError) -> Bool? {
    var present = false
    var count = 0
    var chunkedCount = 0
    var lastIsChunked = false
    for h in headers where h.hasName("transfer-encoding") {
        present = true
        forEachListElement(h.value) { coding in
            count += 1
            lastIsChunked = asciiEqualCaseInsensitive(coding, "chunked".utf8)
            if lastIsChunked { chunkedCount += 1 }
        }
    }
    guard present else { return nil }
    if count == 0 || chunkedCount > 1 || (chunkedCount == 1 && !lastIsChunked) {
        throw .malformed("Transfer-Encoding must end in chunked")
    }
    return lastIsChunked
}

/// The largest Content-Length accepted: 2^53, so the value is exact in every JSON/double consumer.
let maxContentLength: UInt64 = 1 << 53

/// nil without Content-Length; otherwise the single value all Content-Length fields and list members agree
/// on (RFC 9110 §8.6 allows a recipient to accept identical repeats). Throws on anything but 1*DIGIT
/// members (no sign, no inner spaces, no empty member) and on values above `maxContentLength`.
func contentLength(_ headers: [HTTPHeader]) throws(HTTPHeadError) -> UInt64? {
    var result: UInt64?
    for h in headers where h.hasName("content-length") {
        var value: UInt64 = 0, digits = 0, afterDigits = false
        // Runs at each ',' and at the end of the field.
        func finishMember() throws(HTTPHeadError) {
            if digits == 0 { throw .malformed("invalid Content-Length \(ByteText.quote(h.value))") }
            if let r = result, r != value { throw .malformed("conflicting Content-Length values") }
            result = value
            value = 0; digits = 0; afterDigits = false
        }
        for b in h.value.utf8 {
            if ByteClass.isDigit(b) && !afterDigits {
                digits += 1
                // value ≤ 2^53 here, so value * 10 + 9 cannot overflow UInt64.
                value = value * 10 + UInt64(b - ASCII.zero)
                if value > maxContentLength { throw .malformed("Content-Length too large") }
            } else if b == ASCII.comma {
                try finishMember()
            } else if ByteClass.isOWS(b) {
                if digits > 0 { afterDigits = true }
            } else {
                throw .malformed("invalid Content-Length \(ByteText.quote(h.value))")
            }
        }
        try finishMember()
    }
    return result
}
