import AtpgatePolicy
import Testing

/// The engine answers 400 for these before matching; both ways for every rule.
struct RequestPathTests {
    @Test(arguments: [
        "/", "/pki/x.crl", "/a/b/c", "/a.b/c..d/~x/x~/a~b", "/x?a=../b", "/x?p=%2f", "/.well-known/x",
        "/a%20b", "/%41", "/a/.b",
    ])
    func accepts(path: String) {
        #expect(throws: Never.self) { try Policy.validateRequestPath(path) }
    }

    @Test(arguments: [
        ("", "must start with '/'"),
        ("pki/x", "must start with '/'"),
        ("http://a/b", "must start with '/'"),
        ("*", "must start with '/'"),
        ("/.", "dot segment"),
        ("/..", "dot segment"),
        ("/a/./b", "dot segment"),
        ("/a/../b", "dot segment"),
        ("/a/..", "dot segment"),
        ("/a/..?x", "dot segment"),
        ("/a/%2e%2e/b", "encoded"),
        ("/a/%2E/b", "encoded"),
        ("/a%2fb", "encoded"),
        ("/a%2Fb", "encoded"),
        ("/a%5cb", "encoded"),
        ("/a%5Cb", "encoded"),
        ("/a\\b", "backslash"),
        ("/a b", "control character"),
        ("/a\tb", "control character"),
    ])
    func rejects(path: String, fragment: String) {
        #expect {
            try Policy.validateRequestPath(path)
        } throws: { error in
            (error as? PathError)?.reason.contains(fragment) == true
        }
    }
}
