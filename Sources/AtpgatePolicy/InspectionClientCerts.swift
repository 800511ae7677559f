/// One entry of `inspection.upstream.client_certs`: which certificate (and key) the proxy presents
/// upstream on behalf of a verified downstream client. Defender for Identity's cloud authenticates each
/// sensor by its certificate, so an inspected sensor connection needs one per domain controller (or a
/// shared one, `default`).
public struct ClientCertMapping: Sendable, Equatable {
    /// What picks the entry, from the downstream client's verified certificate.
    public enum Match: Sendable, Equatable {
        /// A `*` glob on the subject's common name, ASCII case ignored ("DC01*").
        case subjectCN(String)
        /// A `*` glob on any one subjectAltName (DNS names, IP addresses as text), ASCII case ignored.
        case san(String)
        /// The SHA-256 of the client certificate's DER encoding, 32 bytes.
        case sha256([UInt8])
        /// Every client; only as the last entry.
        case `default`
    }

    public let match: Match
    /// PEM: the leaf, then its chain; the whole chain is sent.
    public let certPath: String
    public let keyPath: String
    /// Line of the entry in the policy file (the log names it as the rule that chose the certificate).
    public let sourceLine: Int

    public init(match: Match, certPath: String, keyPath: String, sourceLine: Int) {
        self.match = match
        self.certPath = certPath
        self.keyPath = keyPath
        self.sourceLine = sourceLine
    }

    /// Whether this entry applies to a client with these certificate facts.
    public func matches(subjectCN: String?, sans: [String], sha256: [UInt8]) -> Bool {
        switch match {
        case .subjectCN(let glob): return subjectCN.map { InspectionGlob.matches(glob, $0) } ?? false
        case .san(let glob): return sans.contains { InspectionGlob.matches(glob, $0) }
        case .sha256(let digest): return digest == sha256
        case .default: return true
        }
    }

    /// "subject_cn DC01*", "san *.contoso.com", "sha256 ab12…", "default": for summaries and `explain`.
    public var matchDescription: String {
        switch match {
        case .subjectCN(let glob): return "subject_cn \(glob)"
        case .san(let glob): return "san \(glob)"
        case .sha256(let digest): return "sha256 " + InspectionFingerprint.hex(digest)
        case .default: return "default"
        }
    }
}

/// `*` wildcards over certificate names: `*` stands for any run of characters (dots included: "DC01*"
/// matches "DC01.contoso.com"), everything else for itself, ASCII case ignored (DNS names and Windows
/// computer names are case-insensitive). No other metacharacters, so a name with '?' or '[' is literal.
enum InspectionGlob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern.utf8), text = Array(text.utf8)
        // Greedy with one backtrack point (the last '*'): linear in practice, never exponential.
        var p = 0, t = 0
        var star: Int? = nil, resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = t
                p += 1
            } else if p < pattern.count, folded(pattern[p]) == folded(text[t]) {
                p += 1
                t += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    private static func folded(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
