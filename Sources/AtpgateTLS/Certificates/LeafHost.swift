#if canImport(Glibc)
import Glibc
#endif

/// The name a minted leaf certifies: the host of the client's CONNECT. Callers pass hosts already
/// normalised (lower case, no trailing dot, IP literals as addresses), since the leaf cache keys on them.
public enum LeafHost: Hashable, Sendable, CustomStringConvertible {
    /// A DNS name, ASCII (IDNs in their xn-- form).
    case dns(String)
    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
    case ip([UInt8])

    /// The host as text: the DNS name, or the address in its usual notation (inet_ntop).
    public var description: String {
        switch self {
        case .dns(let name): return name
        case .ip(let bytes): return Self.addressText(bytes) ?? SubjectAltName.ip(bytes).description
        }
    }

    /// Why this host cannot be put in a certificate, or nil when it can.
    var problem: String? {
        switch self {
        case .dns(let name):
            return Self.isDNSName(name) ? nil : "'\(name)' is not a DNS name"
        case .ip(let bytes):
            return bytes.count == 4 || bytes.count == 16 ? nil : "an IP address is 4 or 16 bytes, not \(bytes.count)"
        }
    }

    /// Whether `name` is a DNS name a certificate may carry: at most 253 characters, dot-separated labels
    /// of 1 to 63 letters, digits, hyphens and underscores (seen in real host names). Rejecting anything
    /// else keeps spaces, commas and control characters out of subjectAltNames and name constraints.
    static func isDNSName(_ name: some StringProtocol) -> Bool {
        let utf8 = Array(name.utf8)
        guard (1...253).contains(utf8.count) else { return false }
        return utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count) && label.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
                default: false
                }
            }
        }
    }

    /// inet_ntop's text of a 4- or 16-byte address ("192.0.2.7", "2001:db8::1").
    private static func addressText(_ bytes: [UInt8]) -> String? {
        let family = bytes.count == 4 ? AF_INET : bytes.count == 16 ? AF_INET6 : -1
        guard family >= 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, bytes, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
