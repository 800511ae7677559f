/// The proxy's own short error responses (plain text, always closing the connection).
public enum ErrorResponse {
    /// Longest message kept, in bytes (cut on a UTF-8 character boundary).
    static let maxMessageBytes = 400

    /// "HTTP/1.1 <status> <reason>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: N\r\n
    ///  X-Atpgate-Error: <token>\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n<message>\n"
    /// message is one line (CR/LF/control chars replaced by spaces, capped at ~400 bytes).
    /// `token` keeps only tchar bytes (others become "-"); a status outside 100...599 is sent as 500.
    public static func bytes(status: Int, token: String, message: String) -> [UInt8] {
        bytes(status: status, token: token, message: message, extraHeaders: [])
    }

    /// As above, with extra fields before Connection, e.g. Proxy-Authenticate on a 407 (RFC 9110 §11.7.1) or
    /// Allow on a 405 (RFC 9110 §15.5.6). Fields that are not writable (bad name, CTLs in value) are skipped.
    public static func bytes(status: Int, token: String, message: String, extraHeaders: [HTTPHeader]) -> [UInt8] {
        let code = (100...599).contains(status) ? status : 500
        var body: [UInt8] = []
        body.reserveCapacity(Swift.min(message.utf8.count, maxMessageBytes) + 1)
        for b in message.utf8 {
            // At the cap, drop a trailing multi-byte character (possibly cut) so the body stays valid UTF-8.
            if body.count == maxMessageBytes {
                while let last = body.last, last >= 0x80 {
                    let isLead = last >= 0xC0
                    body.removeLast()
                    if isLead { break }
                }
                break
            }
            body.append(b < 0x20 || b == ASCII.del ? ASCII.sp : b)
        }
        body.append(ASCII.lf)

        var out: [UInt8] = []
        out.reserveCapacity(body.count + 200)
        out.append(contentsOf: "HTTP/1.1 \(code) \(reasonPhrase(code))\r\n".utf8)
        out.append(contentsOf: "Content-Type: text/plain; charset=utf-8\r\n".utf8)
        out.append(contentsOf: "Content-Length: \(body.count)\r\n".utf8)
        out.append(contentsOf: "X-Atpgate-Error: ".utf8)
        if token.isEmpty { out.append(0x2D) }
        for b in token.utf8 { out.append(ByteClass.isTchar(b) ? b : 0x2D) }
        out.append(contentsOf: "\r\n".utf8)
        for h in extraHeaders where h.isWritable { h.write(into: &out) }
        out.append(contentsOf: "Connection: close\r\nCache-Control: no-store\r\n\r\n".utf8)
        out.append(contentsOf: body)
        return out
    }

    /// Reason phrases of RFC 9110 §15 (plus 429/431 from RFC 6585); otherwise a phrase for the status class.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 203: return "Non-Authoritative Information"
        case 204: return "No Content"
        case 205: return "Reset Content"
        case 206: return "Partial Content"
        case 300: return "Multiple Choices"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 305: return "Use Proxy"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 402: return "Payment Required"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 407: return "Proxy Authentication Required"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 421: return "Misdirected Request"
        case 422: return "Unprocessable Content"
        case 426: return "Upgrade Required"
        case 428: return "Precondition Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        case 100...199: return "Informational"
        case 200...299: return "Success"
        case 300...399: return "Redirection"
        case 400...499: return "Client Error"
        case 500...599: return "Server Error"
        default: return "Unknown"
        }
    }
}
