/// The four forms of request-target (RFC 9112 §3.2), validated for what a forward proxy accepts.
public enum RequestTarget: Sendable, Equatable {
    /// authority-form, CONNECT only (RFC 9112 §3.2.3). IPv6 hosts keep their brackets: "[::1]".
    case authority(host: String, port: UInt16)
    /// absolute-form (RFC 9112 §3.2.2). Scheme lower-cased; host as written (brackets kept for IPv6);
    /// path is the origin-form to send upstream (path and query), "/" when the URI has no path.
    case absolute(scheme: String, host: String, port: UInt16?, path: String)
    /// origin-form (RFC 9112 §3.2.1): "/x?y".
    case origin(String)
    /// asterisk-form (RFC 9112 §3.2.4), OPTIONS only.
    case asterisk

    /// Classifies and validates `target` for `method` (case-sensitive, RFC 9110 §9.1).
    /// CONNECT accepts only authority-form; other methods accept origin-form, absolute-form, and "*" with OPTIONS.
    public static func parse(method: String, target: String) throws(HTTPHeadError) -> RequestTarget {
        var copy = target
        let result: Result<RequestTarget, HTTPHeadError> = copy.withUTF8 { t in
            do throws(HTTPHeadError) {
                return .success(try parse(isConnect: method == "CONNECT", isOptions: method == "OPTIONS", t))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func parse(
        isConnect: Bool, isOptions: Bool, _ t: UnsafeBufferPointer<UInt8>
    ) throws(HTTPHeadError) -> RequestTarget {
        if t.isEmpty { throw .malformed("empty request target") }
        // The head parser already guarantees this; callers may also hand us strings from elsewhere.
        for b in t where !ByteClass.isVisible(b) {
            throw .malformed("invalid character in request target \(ByteText.quote(t))")
        }
        if isConnect {
            let (host, port) = try authority(t[...], portRequired: true, what: "CONNECT target")
            return .authority(host: host, port: port!)
        }
        if t.count == 1 && t[0] == ASCII.asterisk {
            guard isOptions else { throw .malformed("asterisk-form request target is only allowed with OPTIONS") }
            return .asterisk
        }
        if t.contains(ASCII.hash) { throw .malformed("fragment in request target") }
        if t[0] == ASCII.slash { return .origin(string(t[...])) }
        return try absolute(t)
    }

    /// absolute-URI = scheme ":" hier-part [ "?" query ] with hier-part = "//" authority path-abempty
    /// (RFC 3986 §3, RFC 9112 §3.2.2).
    private static func absolute(_ t: UnsafeBufferPointer<UInt8>) throws(HTTPHeadError) -> RequestTarget {
        guard ByteClass.alphaSet.contains(t[0]) else {
            throw .malformed("invalid request target \(ByteText.quote(t))")
        }
        var i = 1
        while i < t.count, ByteClass.schemeTail.contains(t[i]) { i += 1 }
        guard i + 2 < t.count, t[i] == ASCII.colon, t[i + 1] == ASCII.slash, t[i + 2] == ASCII.slash else {
            throw .malformed("invalid request target \(ByteText.quote(t))")
        }
        var scheme = string(t[0..<i])
        if scheme.utf8.contains(where: { $0 &- 0x41 < 26 }) { scheme = scheme.lowercased() }
        let authorityStart = i + 3
        var end = authorityStart
        while end < t.count, t[end] != ASCII.slash, t[end] != ASCII.question { end += 1 }
        let (host, port) = try authority(t[authorityStart..<end], portRequired: false, what: "URL")
        let path: String
        if end == t.count {
            path = "/"
        } else if t[end] == ASCII.question {
            path = "/" + string(t[end...])   // "http://h?q" -> "/?q" (RFC 9112 §3.2.1: empty path is "/")
        } else {
            path = string(t[end...])
        }
        return .absolute(scheme: scheme, host: host, port: port, path: path)
    }

    /// authority = host [ ":" port ] without userinfo (RFC 3986 §3.2, RFC 9112 §3.2.3), with the host a
    /// bracketed IPv6 literal or a reg-name / IPv4 address without percent-encoding.
    private static func authority(
        _ a: Slice<UnsafeBufferPointer<UInt8>>, portRequired: Bool, what: String
    ) throws(HTTPHeadError) -> (String, UInt16?) {
        if a.isEmpty { throw .malformed("empty host in \(what)") }
        for b in a {
            switch b {
            // RFC 9110 §4.2.4: userinfo is deprecated in http(s) URIs; it would also smuggle credentials.
            case ASCII.at: throw .malformed("userinfo in \(what)")
            case ASCII.percent: throw .malformed("percent-encoding in \(what) host")
            case ASCII.slash, ASCII.question, ASCII.hash: throw .malformed("path or query in \(what)")
            default: continue
            }
        }
        var i = a.startIndex
        let hostEnd: Int
        if a[i] == ASCII.openBracket {
            // IP-literal: "[" IPv6address "]"
            i += 1
            while i < a.endIndex, ByteClass.ipv6Literal.contains(a[i]) { i += 1 }
            guard i < a.endIndex, a[i] == ASCII.closeBracket else {
                throw .malformed("invalid IPv6 address in \(what)")
            }
            if i == a.startIndex + 1 { throw .malformed("empty IPv6 address in \(what)") }
            i += 1
            hostEnd = i
            if i < a.endIndex && a[i] != ASCII.colon { throw .malformed("invalid IPv6 address in \(what)") }
        } else {
            while i < a.endIndex, ByteClass.regName.contains(a[i]) { i += 1 }
            hostEnd = i
            if i < a.endIndex && a[i] != ASCII.colon {
                throw .malformed("invalid character in \(what) host \(ByteText.quote(a))")
            }
            if hostEnd == a.startIndex { throw .malformed("empty host in \(what)") }
        }
        let host = string(a[a.startIndex..<hostEnd])
        guard hostEnd < a.endIndex else {
            if portRequired { throw .malformed("missing port in \(what)") }
            return (host, nil)
        }
        // hostEnd is at ":"
        let portBytes = a[(hostEnd + 1)...]
        if portBytes.contains(ASCII.colon) {
            throw .malformed("IPv6 address must be in brackets in \(what)")
        }
        return (host, try port(portBytes, what: what))
    }

    /// port = 1*5DIGIT in 1...65535, no sign, no leading zero (so one value has one spelling).
    static func port(_ p: Slice<UnsafeBufferPointer<UInt8>>, what: String) throws(HTTPHeadError) -> UInt16 {
        if p.isEmpty { throw .malformed("missing port in \(what)") }
        guard p.count <= 5, p.allSatisfy(ByteClass.isDigit) else {
            throw .malformed("invalid port \(ByteText.quote(p)) in \(what)")
        }
        if p.first == ASCII.zero { throw .malformed("invalid port \(ByteText.quote(p)) in \(what)") }
        var v = 0
        for b in p { v = v * 10 + Int(b - ASCII.zero) }
        guard v <= 65535 else { throw .malformed("invalid port \(ByteText.quote(p)) in \(what)") }
        return UInt16(v)
    }

    private static func string(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: s), as: UTF8.self)
    }
}
