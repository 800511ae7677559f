import AtpgatePolicy
import Testing

/// Request paths are matched only in a canonical form, and every path some server could read as a
/// different path is refused first (the engine answers 400). Each refused shape, and each accepted
/// shape with its canonical form.
struct RequestPathCanonicalTests {
    struct Refused: Sendable, CustomTestStringConvertible {
        let path: String
        let fragment: String
        var testDescription: String { path.debugDescription }
        init(_ path: String, _ fragment: String) { self.path = path; self.fragment = fragment }
    }

    @Test(arguments: [
        // path parameters on dot segments: Tomcat and Jetty read "..;" as ".."
        Refused("/ok/..;/admin", "dot segment with path parameters"),
        Refused("/ok/..;a=b/admin", "dot segment with path parameters"),
        Refused("/ok/.;x/admin", "dot segment with path parameters"),
        Refused("/..;", "dot segment"),
        Refused("/.;", "dot segment"),
        Refused("/a/..;?x", "dot segment"),
        Refused("/a/..%3B/b", "dot segment"),
        Refused("/a/..%3b/b", "dot segment"),
        Refused("/a/.%3Bx", "dot segment"),
        // names Windows servers resolve to another name
        Refused("/admin./x", "ending in '.' or a space"),
        Refused("/admin.", "ending in '.' or a space"),
        Refused("/admin.;x/y", "ending in '.' or a space"),
        Refused("/admin.%3Bx/y", "ending in '.' or a space"),
        Refused("/admin%20/x", "ending in '.' or a space"),
        Refused("/a/...", "ending in '.' or a space"),
        Refused("/admin::$DATA", "NTFS stream"),
        Refused("/admin%3A%24DATA", "NTFS stream"),
        Refused("/ADMINI~1/x", "8.3 short name"),
        Refused("/a/PROGRA%7E1", "8.3 short name"),
        // plain dot segments (as before)
        Refused("/a/../b", "dot segment"),
        Refused("/a/./b", "dot segment"),
        Refused("/..", "dot segment"),
        // empty segments: merged by nginx (merge_slashes) and others
        Refused("//admin", "empty segment ('//')"),
        Refused("/ok//admin", "empty segment ('//')"),
        Refused("/ok/x//", "empty segment ('//')"),
        Refused("//", "empty segment ('//')"),
        Refused("//?x", "empty segment ('//')"),
        // ... and segments that are empty once their parameters are stripped
        Refused("/;x/admin", "path parameters on an empty segment"),
        Refused("/a/;x", "path parameters on an empty segment"),
        Refused("/%3Bx/admin", "path parameters on an empty segment"),
        // escaped controls, %00 first
        Refused("/a%00", "escaped control"),
        Refused("/a%00.crl", "escaped control"),
        Refused("/%01", "escaped control"),
        Refused("/a%0d%0aX-Injected:%201", "escaped control"),
        Refused("/a%0A", "escaped control"),
        Refused("/a%09b", "escaped control"),
        Refused("/a%1F", "escaped control"),
        Refused("/a%1f", "escaped control"),
        Refused("/a%7F", "escaped control"),
        Refused("/a%7f", "escaped control"),
        // '%' without two hex digits, IIS %u escapes included
        Refused("/a%", "'%' not followed by two hex digits"),
        Refused("/a%2", "'%' not followed by two hex digits"),
        Refused("/a%zz", "'%' not followed by two hex digits"),
        Refused("/a%g0", "'%' not followed by two hex digits"),
        Refused("/a% 0", "'%' not followed by two hex digits"),
        Refused("/%u002e%u002e/admin", "'%' not followed by two hex digits"),
        Refused("/a%U002F", "'%' not followed by two hex digits"),
        Refused("/a%%32%65", "'%' not followed by two hex digits"),
        Refused("/a%2?x=1", "'%' not followed by two hex digits"),   // the digits may not come from the query
        Refused("/a%?x=12", "'%' not followed by two hex digits"),
        // invalid UTF-8 once consecutive escapes are decoded together
        Refused("/%C0%AE%C0%AE/admin", "UTF-8 in escapes of request path (overlong form)"),
        Refused("/%c0%af", "overlong form"),
        Refused("/%C1%BF", "overlong form"),
        Refused("/%E0%80%AE", "overlong form"),
        Refused("/%E0%9F%BF", "overlong form"),
        Refused("/%F0%80%80%AE", "overlong form"),
        Refused("/%F0%8F%BF%BF", "overlong form"),
        Refused("/%ED%A0%80", "surrogate"),
        Refused("/%ED%BF%BF", "surrogate"),
        Refused("/%F4%90%80%80", "beyond U+10FFFF"),
        Refused("/%F5%80%80%80", "beyond U+10FFFF"),
        Refused("/%FF", "beyond U+10FFFF"),
        Refused("/%C3", "truncated sequence"),
        Refused("/%C3/x", "truncated sequence"),
        Refused("/%C3a", "truncated sequence"),
        Refused("/%C3%41", "truncated sequence"),
        Refused("/%E2%82", "truncated sequence"),
        Refused("/%E2%82?x", "truncated sequence"),
        Refused("/%F0%9F%98", "truncated sequence"),
        Refused("/%C3%C3%A9", "truncated sequence"),
        Refused("/%80", "lone continuation byte"),
        Refused("/%bf", "lone continuation byte"),
        Refused("/caf%C3%A9%A9", "lone continuation byte"),
        // look-alikes that NFKC or Windows best-fit mapping turn into ASCII
        Refused("/%EF%BC%8F", "look-alike"),                  // U+FF0F full-width solidus
        Refused("/%EF%BC%8E%EF%BC%8E/admin", "look-alike"),   // U+FF0E full-width full stop
        Refused("/%EF%BC%BC", "look-alike"),                  // U+FF3C full-width reverse solidus
        Refused("/%EF%BD%81dmin", "look-alike"),              // U+FF41 full-width 'a'
        Refused("/%EF%B9%92", "look-alike"),                  // U+FE52 small full stop
        Refused("/%EF%B9%A8", "look-alike"),                  // U+FE68 small reverse solidus
        Refused("/%E2%80%A5", "look-alike"),                  // U+2025 two dot leader
        Refused("/%E2%88%95", "look-alike"),                  // U+2215 division slash
        Refused("/%CD%BE", "look-alike"),                     // U+037E Greek question mark (';')
        Refused("/%C2%A5", "look-alike"),                     // U+00A5 yen sign ('\' in Shift-JIS)
        // encoded '.', '/', '\' in any case (as before)
        Refused("/%2e", "encoded"),
        Refused("/a/%2E%2E/b", "encoded"),
        Refused("/a%2fb", "encoded"),
        Refused("/a%2Fb", "encoded"),
        Refused("/a%5cb", "encoded"),
        Refused("/a%5C", "encoded"),
        // double escapes: a server decoding twice reads "%2e"
        Refused("/%252e%252e/admin", "double percent-encoding"),
        Refused("/a%252F", "double percent-encoding"),
        Refused("/a%25%32%65", "double percent-encoding"),
        Refused("/a%25a", "double percent-encoding"),
        // raw bytes (as before)
        Refused("/a\\b", "backslash"),
        Refused("/a b", "control character or space"),
        Refused("/a\tb", "control character or space"),
        Refused("/a\u{7F}", "control character or space"),
        Refused("/a#b", "'#'"),
        Refused("", "must start with '/'"),
        Refused("a/b", "must start with '/'"),
    ])
    func refuses(_ c: Refused) {
        #expect {
            try Policy.validateRequestPath(c.path)
        } throws: { error in
            (error as? PathError)?.reason.contains(c.fragment) == true
        }
        #expect(throws: PathError.self) { try Policy.canonicalRequestPath(c.path) }
    }

    @Test(arguments: [
        ("/", "/"),
        ("/pki/crl/x.crl", "/pki/crl/x.crl"),
        ("/ok/x?a=../b&c=%zz%00", "/ok/x"),                     // the query is neither checked nor matched
        ("/?x", "/"),
        ("/%6Fk/", "/ok/"),                                     // unreserved escapes decoded
        ("/%6fk/", "/ok/"),
        ("/%41%5a%61%7A%30%39%2D%5F%7E", "/AZaz09-_~"),
        ("/a%2Bb", "/a+b"),                                     // so are sub-delimiters, ':' and '@'
        ("/a%21%24%26%27%28%29%2A%2C%3D%3A%40", "/a!$&'()*,=:@"),
        ("/a%7c%7B%7D%22%3C%3E%5B%5D%5E%60", "/a|{}\"<>[]^`"),  // and what a path may not hold raw
        ("/a|b", "/a|b"),
        ("/a%20b", "/a%20b"),                                   // the rest keep their escape, upper-case
        ("/a%3fb", "/a%3Fb"),
        ("/a%23b", "/a%23b"),
        ("/a%3bb", "/a%3Bb"),
        ("/100%25", "/100%25"),
        ("/100%25.txt", "/100%25.txt"),
        ("/caf%c3%a9", "/caf%C3%A9"),                           // valid UTF-8 escapes
        ("/%E2%82%AC", "/%E2%82%AC"),
        ("/%f0%9f%98%80/x", "/%F0%9F%98%80/x"),
        ("/%EF%BF%BD", "/%EF%BF%BD"),
        ("/café", "/caf%C3%A9"),                                // raw non-ASCII (rule text only)
        ("/ok;jsessionid=1/x", "/ok;jsessionid=1/x"),           // parameters on ordinary segments
        ("/ok/x;v=1", "/ok/x;v=1"),
        ("/a/.b/..c/b.c/c..x;x.", "/a/.b/..c/b.c/c..x;x."),   // dots that are not dot segments, nor trailing
        ("/a/", "/a/"),
    ])
    func canonicalForm(path: String, canonical: String) throws {
        #expect(throws: Never.self) { try Policy.validateRequestPath(path) }
        #expect(try Policy.canonicalRequestPath(path) == canonical)
        // Canonical is a fixed point.
        #expect(try Policy.canonicalRequestPath(canonical) == canonical)
    }

    /// Random paths built from the pieces the rules above are about: validation never traps, and
    /// whatever it accepts has a canonical form that is accepted too, is a fixed point, and reads
    /// the same path (decoding it and the original gives the same bytes).
    @Test func randomPathsKeepTheInvariants() throws {
        let pieces = ["/", "/", "/", "a", "B", ".", "..", ";", ";x=1", "%", "%2", "%2e", "%2F", "%41", "%6f", "%3B", "%3b",
                      "%25", "%00", "%7F", "%20", "%C3", "%A9", "%E2%82%AC", "%C0%AE", "%ED%A0%80", "%u002e", "?", "#",
                      "\\", " ", "~", "+", "%2B", "|", "%7C", "é"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        var accepted = 0
        for _ in 0..<20_000 {
            let path = "/" + (0..<next(8)).map { _ in pieces[next(pieces.count)] }.joined()
            guard let canonical = try? Policy.canonicalRequestPath(path) else {
                #expect(throws: PathError.self) { try Policy.validateRequestPath(path) }
                continue
            }
            accepted += 1
            #expect(throws: Never.self) { try Policy.validateRequestPath(path) }
            #expect(try Policy.canonicalRequestPath(canonical) == canonical, "\(path)")
            #expect(Self.decoded(canonical) == Self.decoded(String(path.prefix { $0 != "?" })), "\(path)")
        }
        #expect(accepted > 1_000)   // the generator reaches both sides
    }

    /// Every escape decoded (one level), raw non-ASCII as it is.
    static func decoded(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16) {
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}
