import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine
import AtpgateIO

/// The ClientHello peek (`tls` in the policy): real `openssl s_client -proxy` handshakes through the proxy,
/// and hand-made first flights, against upstreams that record what reached them.
@Suite("TLS ClientHello peek")
struct HelloPeekTests {
    static func policy(port: UInt16, sni: String = "enforce", extra: String = "") -> String {
        loopbackPolicy(allow: ["sensor.test:\(port)", "other.test:\(port)", "127.0.0.1:\(port)"],
                       hosts: ["sensor.test": "127.0.0.1", "other.test": "127.0.0.1"],
                       extra: "tls: {sni: \(sni), ports: [\(port)]}\n" + extra)
    }

    /// `openssl s_client` through the proxy, stdin at end of file (it closes after the handshake).
    static func sClient(proxy: UInt16, connect: String, _ extra: [String], brief: Bool = true) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-proxy", "127.0.0.1:\(proxy)", "-connect", connect] + (brief ? ["-brief"] : []) + extra
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try input.fileHandleForWriting.close()
        let killer = DispatchWorkItem { process.forceKill() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: killer)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// An upstream that records every byte each connection sends it (and answers nothing).
    final class RecordingUpstream: @unchecked Sendable {
        let server: TestServer
        private let received = Locked<[[UInt8]]>([])
        var port: UInt16 { server.port }
        var connections: [[UInt8]] { received.withLock { $0 } }

        init() throws {
            let received = self.received
            server = try TestServer { socket in
                let index = received.withLock { $0.append([]); return $0.count - 1 }
                while let chunk = try? socket.receive(), !chunk.isEmpty {
                    received.withLock { $0[index] += chunk }
                }
            }
        }
    }

    /// A real ClientHello as `openssl s_client` sends it, for `name` (nil: -noservername), captured by a listener.
    static func capturedHello(name: String?) throws -> [UInt8] {
        let capture = try RecordingUpstream()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(capture.port)"] + (name.map { ["-servername", $0] } ?? ["-noservername"])
        process.standardInput = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { TLSServer.kill(process) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let first = capture.connections.first, first.count >= 5 {
                let length = Int(first[3]) << 8 | Int(first[4])
                if first.count >= 5 + length { return Array(first[0..<(5 + length)]) }
            }
            usleep(10_000)
        }
        throw TestError("no ClientHello captured")
    }

    /// The same handshake message re-framed into `records` TLS records of (nearly) equal size.
    static func reframed(_ hello: [UInt8], records: Int) -> [UInt8] {
        let message = Array(hello[5...])
        let size = (message.count + records - 1) / records
        var out: [UInt8] = []
        var offset = 0
        while offset < message.count {
            let piece = message[offset..<min(offset + size, message.count)]
            out += [0x16, 0x03, 0x01, UInt8(piece.count >> 8), UInt8(piece.count & 0xFF)] + piece
            offset += size
        }
        return out
    }

    /// A minimal, valid TLS 1.3 ClientHello naming `sni`, with an encrypted_client_hello extension (0xfe0d)
    /// of opaque bytes: the outer hello an ECH client sends.
    static func echHello(sni: String) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func ext(_ type: Int, _ body: [UInt8]) -> [UInt8] { u16(type) + u16(body.count) + body }
        let name = Array(sni.utf8)
        let serverName = ext(0x0000, u16(name.count + 3) + [0] + u16(name.count) + name)
        let versions = ext(0x002b, [2, 0x03, 0x04])
        let groups = ext(0x000a, u16(2) + [0x00, 0x1d])
        let keyShare = ext(0x0033, u16(36) + [0x00, 0x1d] + u16(32) + [UInt8](repeating: 7, count: 32))
        let sigalgs = ext(0x000d, u16(2) + [0x08, 0x04])
        let ech = ext(0xfe0d, [0x00, 0x00, 0x01, 0x00, 0x01, 0x2a] + u16(32) + [UInt8](repeating: 9, count: 32) + u16(16) + [UInt8](repeating: 5, count: 16))
        let extensions = serverName + versions + groups + keyShare + sigalgs + ech
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 1, count: 32) + [0]
        body += u16(2) + [0x13, 0x01] + [1, 0] + u16(extensions.count) + extensions
        let message = [1, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        return [0x16, 0x03, 0x01] + u16(message.count) + message
    }

    static func alert(_ description: UInt8) -> [UInt8] { [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description] }

    @Test("openssl s_client with the CONNECT host as SNI: the handshake completes, the log has the tls object")
    func matchingSNI() throws {
        let tls = try TLSServer(name: "sensor.test")
        let proxy = try ProxyHarness(policy: Self.policy(port: tls.port))
        let result = try Self.sClient(proxy: proxy.port, connect: "sensor.test:\(tls.port)",
                                      ["-servername", "sensor.test", "-CAfile", tls.certificatePath, "-alpn", "http/1.1"])
        #expect(result.output.contains("CONNECTION ESTABLISHED"), "\(result.output)")
        let record = try #require(proxy.waitForLog(count: 1).first)
        #expect(record.decision == "allow" && record.error == nil)
        let facts = try #require(record.tls)
        #expect(facts.sni == "sensor.test")
        #expect(facts.alpn == ["http/1.1"])
        #expect(facts.versions.first == "1.3")
        #expect(facts.ja4.hasPrefix("t13d") && facts.ja4.split(separator: "_").count == 3, "\(facts.ja4)")
        #expect(!facts.ech)
        #expect(record.jsonLine.contains(#""tls":{"sni":"sensor.test","alpn":["http/1.1"],"versions":["1.3""#))
    }

    @Test("-servername other and -noservername are refused with an alert; the upstream sees no ClientHello", arguments: [
        (["-servername", "other.test"], "sni-mismatch"),
        (["-noservername"], "no-sni"),
        (["-servername", "SENSOR.test.."], "sni-mismatch"),
    ])
    func refusedSNI(options: [String], token: String) throws {
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: Self.policy(port: upstream.port))
        let result = try Self.sClient(proxy: proxy.port, connect: "sensor.test:\(upstream.port)", options)
        #expect(result.status != 0)
        #expect(!result.output.contains("CONNECTION ESTABLISHED"))
        let record = try #require(proxy.waitForLog(count: 1).first)
        #expect(record.decision == "deny")
        #expect(record.rule == "tls.sni")
        #expect(record.status == 200)
        #expect(record.error == token)
        if token == "no-sni" { #expect(record.tls?.sni == nil) } else { #expect(record.tls?.sni != nil) }
        usleep(50_000)
        #expect(upstream.connections.allSatisfy { $0.isEmpty }, "the upstream received \(upstream.connections.map(\.count)) bytes")
    }

    @Test("SNI checks: the CONNECT host normalised; a trailing dot and case do not matter; IP targets take no SNI")
    func sniRule() {
        #expect(SNICheck.refusal(connectHost: .name("sensor.test"), serverName: Array("Sensor.Test.".utf8)) == nil)
        #expect(SNICheck.refusal(connectHost: .name("sensor.test"), serverName: Array("sensor.test".utf8)) == nil)
        #expect(SNICheck.refusal(connectHost: .name("sensor.test"), serverName: Array("evil.test".utf8))?.token == .sniMismatch)
        #expect(SNICheck.refusal(connectHost: .name("sensor.test"), serverName: nil)?.token == .noSNI)
        #expect(SNICheck.refusal(connectHost: .name("sensor.test"), serverName: Array("sensor.test\u{0}".utf8))?.token == .sniMismatch)
        #expect(SNICheck.refusal(connectHost: .name("xn--bcher-kva.test"), serverName: Array("bücher.test".utf8))?.token == .sniMismatch)
        #expect(SNICheck.refusal(connectHost: .name("sensor.test"), serverName: Array("127.0.0.1".utf8))?.token == .sniMismatch)
        #expect(SNICheck.refusal(connectHost: .name("sensor.test"), serverName: [])?.token == .sniMismatch)
        #expect(SNICheck.refusal(connectHost: .ip(.init("127.0.0.1")!), serverName: nil) == nil)
        #expect(SNICheck.refusal(connectHost: .ip(.init("127.0.0.1")!), serverName: Array("sensor.test".utf8))?.token == .sniMismatch)
    }

    @Test("plain text on a peeked port: not-tls, a decode_error alert, nothing upstream")
    func plainText() throws {
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: Self.policy(port: upstream.port))
        let socket = try proxy.openTunnel(to: "sensor.test:\(upstream.port)")
        try socket.send("GET / HTTP/1.1\r\nHost: sensor.test\r\n\r\n")
        #expect(try socket.receiveAll() == Self.alert(50))
        let record = try #require(proxy.waitForLog(count: 1).first)
        #expect(record.error == "not-tls" && record.decision == "deny" && record.tls == nil)
        usleep(50_000)
        #expect(upstream.connections.allSatisfy { $0.isEmpty })
    }

    @Test("a real hello byte at a time, in 3 and in 7 records, and pipelined with the CONNECT head: forwarded unchanged",
          arguments: [(1, 1, false), (0, 3, false), (0, 7, false), (0, 1, true), (1, 4, true)])
    func forwardedUnchanged(byteAtATime: Int, records: Int, pipelined: Bool) throws {
        let hello = Self.reframed(try Self.capturedHello(name: "sensor.test"), records: records)
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: Self.policy(port: upstream.port))
        let socket: BlockingSocket
        var rest = hello
        if pipelined {
            let head = Array(hello.prefix(hello.count / 2))
            rest = Array(hello[head.count...])
            socket = try proxy.openTunnel(to: "sensor.test:\(upstream.port)", extra: head)
        } else {
            socket = try proxy.openTunnel(to: "sensor.test:\(upstream.port)")
        }
        if byteAtATime == 1 {
            for byte in rest {
                try socket.send([byte])
                usleep(200)
            }
        } else {
            try socket.send(rest)
        }
        try socket.send("after the hello")
        let expected = hello + Array("after the hello".utf8)
        #expect(eventually { upstream.connections.first?.count == expected.count })
        #expect(upstream.connections.first == expected)
        socket.shutdownWrite()
        let record = try #require(proxy.waitForLog(count: 1).first)
        #expect(record.decision == "allow" && record.error == nil && record.tls?.sni == "sensor.test")
        #expect(record.bytesUp == UInt64(expected.count))
    }

    @Test("a hello larger than 64 KiB is refused as soon as its length is known: hello-too-large, nothing upstream")
    func tooLarge() throws {
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: Self.policy(port: upstream.port))
        let socket = try proxy.openTunnel(to: "sensor.test:\(upstream.port)")
        // A full-size record whose ClientHello header announces 70,000 bytes.
        let length = 70_000
        try socket.send([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, UInt8(length >> 16), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
                        + [UInt8](repeating: 0, count: 100))
        #expect(try socket.receiveAll() == Self.alert(40))
        let record = try #require(proxy.waitForLog(count: 1).first)
        #expect(record.error == "hello-too-large" && record.decision == "deny" && record.rule == "tls.sni")
        #expect(upstream.connections.allSatisfy { $0.isEmpty })
    }

    @Test("a hello that stops half-way is cut at timeouts.head: hello-timeout, nothing upstream")
    func halfHello() throws {
        let hello = try Self.capturedHello(name: "sensor.test")
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: Self.policy(port: upstream.port, extra: "timeouts: {head: 500ms}\n"))
        let socket = try proxy.openTunnel(to: "sensor.test:\(upstream.port)")
        try socket.send(Array(hello.prefix(hello.count / 2)))
        #expect(try socket.receiveAll() == Self.alert(40))
        let record = try #require(proxy.waitForLog(count: 1).first)
        #expect(record.error == "hello-timeout" && record.decision == "deny")
        #expect(upstream.connections.allSatisfy { $0.isEmpty })
    }

    @Test("a hello carrying ECH with a matching outer SNI is allowed and logged with ech: true")
    func ech() throws {
        let hello = Self.echHello(sni: "sensor.test")
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: Self.policy(port: upstream.port))
        let socket = try proxy.openTunnel(to: "sensor.test:\(upstream.port)")
        try socket.send(hello)
        #expect(eventually { upstream.connections.first?.count == hello.count })
        #expect(upstream.connections.first == hello)
        socket.shutdownWrite()
        let record = try #require(proxy.waitForLog(count: 1).first)
        #expect(record.decision == "allow" && record.tls?.ech == true && record.tls?.sni == "sensor.test")
        // ECH alone never refuses; a non-matching outer SNI still does.
        let other = try proxy.openTunnel(to: "sensor.test:\(upstream.port)")
        try other.send(Self.echHello(sni: "other.test"))
        #expect(try other.receiveAll() == Self.alert(112))
    }

    @Test("sni: log forwards a mismatch and logs what was offered; sni: off does not peek")
    func logAndOff() throws {
        let upstream = try RecordingUpstream()
        let logging = try ProxyHarness(policy: Self.policy(port: upstream.port, sni: "log"))
        let hello = try Self.capturedHello(name: "other.test")
        let socket = try logging.openTunnel(to: "sensor.test:\(upstream.port)")
        try socket.send(hello)
        #expect(eventually { upstream.connections.first?.count == hello.count })
        socket.shutdownWrite()
        let record = try #require(logging.waitForLog(count: 1).first)
        #expect(record.decision == "allow" && record.error == nil && record.tls?.sni == "other.test")

        let off = try ProxyHarness(policy: Self.policy(port: upstream.port, sni: "off"))
        let plain = try off.openTunnel(to: "sensor.test:\(upstream.port)")
        try plain.send("not tls at all")
        #expect(eventually { upstream.connections.count == 2 && upstream.connections[1].count == 14 })
        plain.shutdownWrite()
        #expect(off.waitForLog(count: 1).first?.tls == nil)
    }

    @Test("a CONNECT to an IP literal: a hello without SNI passes, one with an SNI is refused")
    func ipTarget() throws {
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: Self.policy(port: upstream.port))
        let bare = try Self.capturedHello(name: nil)
        let first = try proxy.openTunnel(to: "127.0.0.1:\(upstream.port)")
        try first.send(bare)
        #expect(eventually { upstream.connections.first?.count == bare.count })
        first.shutdownWrite()
        let second = try proxy.openTunnel(to: "127.0.0.1:\(upstream.port)")
        try second.send(try Self.capturedHello(name: "sensor.test"))
        #expect(try second.receiveAll() == Self.alert(112))
        let records = proxy.waitForLog(count: 2)
        #expect(Set(records.map { $0.error ?? "none" }) == ["none", "sni-mismatch"])
    }

    @Test("a port outside tls.ports is not peeked")
    func otherPort() throws {
        let upstream = try RecordingUpstream()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["sensor.test:\(upstream.port)"], hosts: ["sensor.test": "127.0.0.1"]))
        let socket = try proxy.openTunnel(to: "sensor.test:\(upstream.port)")
        try socket.send("plain")
        #expect(eventually { upstream.connections.first?.count == 5 })
        socket.shutdownWrite()
        #expect(proxy.waitForLog(count: 1).first?.tls == nil)
    }
}
