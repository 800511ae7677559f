/// Why a ClientHello handshake message was refused. Each case names the field at fault, so the
/// description is one short line for the access log and the tests.
public enum ClientHelloError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The handshake type is not ClientHello (1), or its 3-byte length disagrees with the bytes given.
    case notClientHello(String)
    /// A field or length-prefixed block runs past the end of the structure that holds it.
    case truncated(String)
    /// A length-prefixed block (or the message) holds bytes after its last element.
    case trailingBytes(String)
    /// A length outside the range the RFC allows (odd, empty, or too long).
    case invalidLength(String)
    /// The same extension type twice in the extension block (RFC 8446 §4.2).
    case duplicateExtension(UInt16)
    /// server_name with no usable host_name: empty, or more than one (RFC 6066 §3).
    case invalidServerName(String)

    public var description: String {
        switch self {
        case .notClientHello(let why): return "not a ClientHello: \(why)"
        case .truncated(let field): return "ClientHello truncated in \(field)"
        case .trailingBytes(let field): return "ClientHello has trailing bytes after \(field)"
        case .invalidLength(let field): return "ClientHello has an invalid length for \(field)"
        case .duplicateExtension(let type): return "ClientHello repeats extension \(type)"
        case .invalidServerName(let why): return "ClientHello server_name: \(why)"
        }
    }
}
