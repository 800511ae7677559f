/// Why a head (or a chunked body) was rejected. The proxy maps the two cases to distinct statuses, so the
/// distinction is "too big" (RFC 6585 §5: 431) versus "not valid HTTP/1.1" (RFC 9110 §15.5.1: 400).
public enum HTTPHeadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The head exceeds the configured limit -> the proxy answers 431.
    case tooLarge
    /// A one-line, printable reason -> the proxy answers 400 (or 502 for an upstream response).
    /// Reasons never contain raw control bytes (see `ByteText.quote`), so they are safe to log and to echo.
    case malformed(String)

    public var description: String {
        switch self {
        case .tooLarge: return "head too large"
        case .malformed(let reason): return reason
        }
    }
}
