import Testing
import Foundation
import AtpgateNet
@testable import AtpgateEngine
import AtpgateIO

/// The proxy never dials its own listeners, however the address is spelt: every IPv6 form that
/// embeds the listener's IPv4 address reaches it too, and a networks.allow carve-out for loopback
/// must not let a client nest tunnels through the proxy into itself.
@Suite("The proxy never dials itself")
struct SelfConnectionTests {
    static let spellings = ["::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:127.0.0.1"]

    /// networks.allow covers 127.0.0.0/8 (loopbackPolicy), and the rules allow every port of
    /// 127.0.0.1 and of each IPv6 spelling of it.
    static func policy() -> String {
        loopbackPolicy(allow: ["127.0.0.1:*"] + spellings.map { "[\($0)]:*" })
    }

    static func expectSelfDenial(_ answer: String, _ proxy: ProxyHarness,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        ErrorStatusTests.expectError(answer, status: 403, token: "address-denied", sourceLocation: sourceLocation)
        #expect(answer.contains("own listening address"), "answer: \(answer)", sourceLocation: sourceLocation)
        let record = try #require(proxy.waitForLog().first, sourceLocation: sourceLocation)
        #expect(record.rule == "builtin:self", sourceLocation: sourceLocation)
        #expect(record.decision == "deny", sourceLocation: sourceLocation)
    }

    @Test("CONNECT to an IPv6 spelling of the listener -> 403 address-denied (builtin:self)", arguments: spellings)
    func ipv6Literal(_ literal: String) throws {
        let proxy = try ProxyHarness(policy: Self.policy())
        let answer = try proxy.rawExchange("CONNECT [\(literal)]:\(proxy.port) HTTP/1.1\r\n\r\n")
        try Self.expectSelfDenial(answer, proxy)
    }

    @Test("a name that resolves to an IPv6 spelling of the listener -> 403 address-denied (builtin:self)",
          arguments: spellings)
    func resolvedName(_ literal: String) throws {
        let resolver = StubResolver(["loop.test": .addresses([literal])])
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["loop.test:*"]), resolver: resolver)
        let answer = try proxy.rawExchange("CONNECT loop.test:\(proxy.port) HTTP/1.1\r\n\r\n")
        try Self.expectSelfDenial(answer, proxy)
    }

    @Test("a wildcard listener is reached through all of 127/8, in any spelling")
    func wildcardListener() throws {
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["127.0.0.2:*", "[::ffff:127.0.0.2]:*"]),
                                     listen: "0.0.0.0:0")
        let answer = try proxy.rawExchange("CONNECT [::ffff:127.0.0.2]:\(proxy.port) HTTP/1.1\r\n\r\n")
        try Self.expectSelfDenial(answer, proxy)
    }

    @Test func exactListenerInEverySpelling() throws {
        let own = SelfAddresses(exact: [SocketAddress(ip: IPAddress("127.0.0.1")!, port: 3128)])
        for text in ["127.0.0.1", "::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1",
                     "64:ff9b:1::127.0.0.1", "2002:7f00:1::1", "2001:db8::5efe:127.0.0.1", "0.0.0.0", "::", "::ffff:0.0.0.0"] {
            #expect(own.contains(SocketAddress(ip: IPAddress(text)!, port: 3128)), "\(text)")
        }
        for (text, port) in [("127.0.0.1", UInt16(3129)), ("127.0.0.2", 3128), ("::ffff:127.0.0.2", 3128), ("::1", 3128),
                             ("10.0.0.1", 3128), ("0.0.0.0", 3129)] {
            #expect(!own.contains(SocketAddress(ip: IPAddress(text)!, port: port)), "\(text):\(port)")
        }
    }

    @Test func wildcardListenerInEverySpelling() throws {
        let own = ProxyServer.selfAddresses(of: [SocketAddress(ip: IPAddress("0.0.0.0")!, port: 3128)])
        for text in ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::ffff:127.0.0.9", "::127.0.0.9", "::1", "0.0.0.0", "::"] {
            #expect(own.contains(SocketAddress(ip: IPAddress(text)!, port: 3128)), "\(text)")
        }
        for local in own.localIPs {
            #expect(own.contains(SocketAddress(ip: local, port: 3128)), "\(local)")
            if case .v4(let value) = local {
                #expect(own.contains(SocketAddress(ip: .v6(0, 0xFFFF_0000_0000 | UInt64(value)), port: 3128)), "mapped \(local)")
            }
        }
        #expect(!own.contains(SocketAddress(ip: IPAddress("127.0.0.1")!, port: 3129)))
        #expect(!own.contains(SocketAddress(ip: IPAddress("192.0.2.1")!, port: 3128)))
    }
}
