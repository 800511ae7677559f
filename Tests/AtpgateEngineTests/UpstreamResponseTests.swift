import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine
import AtpgateHTTP

/// Hostile and faulty upstream answers to plain-HTTP requests (issue 8, findings 1, 3 and 4): interim
/// floods, interim responses without a final one, and framing the client could read differently.
@Suite("Upstream responses")
struct UpstreamResponseTests {
    /// An upstream that reads one request head and answers with `bytes`, then closes.
    static func rawUpstream(_ bytes: [UInt8], holdOpen: Double = 0) throws -> TestServer {
        try TestServer { socket in
            _ = try? socket.receive(until: "\r\n\r\n")
            try? socket.send(bytes)
            if holdOpen > 0 { usleep(UInt32(holdOpen * 1e6)) }
            socket.shutdownWrite()
            _ = try? socket.receiveAll()
        }
    }

    static func rawUpstream(_ text: String, holdOpen: Double = 0) throws -> TestServer {
        try rawUpstream(Array(text.utf8), holdOpen: holdOpen)
    }

    static func proxy(for upstream: TestServer, extra: String = "") throws -> ProxyHarness {
        try ProxyHarness(policy: loopbackPolicy(allow: ["origin.test:\(upstream.port)"], hosts: ["origin.test": "127.0.0.1"],
                                                extra: extra))
    }

    static func get(_ upstream: TestServer, version: String = "HTTP/1.1", close: Bool = true) -> String {
        "GET http://origin.test:\(upstream.port)/x \(version)\r\nHost: origin.test\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    // MARK: Interim responses

    @Test("50,000 interim responses then a 200: the proxy survives (child process), answers 502 after 16, and keeps serving")
    func interimFlood() throws {
        let flood = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 50_000) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let upstream = try Self.rawUpstream(flood)
        let healthy = try HTTPTestServer()
        let directory = try TemporaryDirectory()
        let policy = try directory.write("flood.yaml", loopbackPolicy(
            allow: ["origin.test:\(upstream.port)", "healthy.test:\(healthy.port)"],
            hosts: ["origin.test": "127.0.0.1", "healthy.test": "127.0.0.1"]))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"])
        let socket = try BlockingSocket.connect("127.0.0.1", child.port)
        try socket.send(Self.get(upstream))
        let answer = try socket.receiveAll().text
        #expect(Self.count("HTTP/1.1 100 Continue\r\n", in: answer) == UpstreamResponseReader.defaultMaxInterim)
        #expect(answer.contains("HTTP/1.1 502 "))
        #expect(answer.contains("X-Atpgate-Error: upstream-failed"))
        #expect(!answer.contains("200 OK"))
        #expect(child.process.isRunning, "the proxy died: \(child.diagnostics.value)")
        let next = try BlockingSocket.connect("127.0.0.1", child.port)
        try next.send("GET http://healthy.test:\(healthy.port)/cl/3 HTTP/1.1\r\nHost: healthy.test\r\nConnection: close\r\n\r\n")
        #expect(try next.receiveAll().text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(child.terminate() == 0)
    }

    @Test("exactly 16 interim responses are relayed before the final one; the 17th is a 502")
    func interimBound() throws {
        let final = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let limit = UpstreamResponseReader.defaultMaxInterim
        #expect(limit == 16, "the README documents 16")
        let atLimit = try Self.rawUpstream(String(repeating: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", count: limit) + final)
        let answer = try Self.proxy(for: atLimit).rawExchange(Self.get(atLimit))
        #expect(Self.count("HTTP/1.1 103 Early Hints\r\n", in: answer) == limit)
        #expect(answer.hasSuffix("\r\n\r\nok"))
        let overLimit = try Self.rawUpstream(String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: limit + 1) + final)
        let over = try Self.proxy(for: overLimit).rawExchange(Self.get(overLimit))
        #expect(over.contains("HTTP/1.1 502 "))
        #expect(over.contains("more than \(limit) interim"))
        #expect(!over.contains("200 OK"))
    }

    @Test("HTTP/1.0 clients never see an interim response; HTTP/1.1 clients see each one")
    func interimOnlyToHTTP11() throws {
        let upstream = try Self.rawUpstream("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"
                                            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let proxy = try Self.proxy(for: upstream)
        let old = try proxy.rawExchange(Self.get(upstream, version: "HTTP/1.0", close: false))
        #expect(old.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(old)")
        #expect(!old.contains(" 100 ") && !old.contains(" 103 "))
        let new = try proxy.rawExchange(Self.get(upstream))
        #expect(new.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        #expect(new.contains("HTTP/1.1 103 Early Hints\r\n"))
        #expect(new.hasSuffix("\r\n\r\nok"))
    }

    @Test("timeouts.response runs until the final head: 100 Continue and then silence is a 504")
    func interimThenSilence() throws {
        let upstream = try Self.rawUpstream("HTTP/1.1 100 Continue\r\n\r\n", holdOpen: 20)
        let proxy = try Self.proxy(for: upstream, extra: "timeouts: {response: 1s}\n")
        let socket = try proxy.connect()
        try socket.send(Self.get(upstream))
        let answer = try socket.receiveAll().text      // the socket gives up after 10 s: the test fails, not hangs
        #expect(answer.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        #expect(answer.contains("HTTP/1.1 504 "))
        #expect(answer.contains("X-Atpgate-Error: response-timeout"))
        let record = try #require(proxy.waitForLog().first)
        #expect(record.status == 504)
        #expect(record.error == "response-timeout")
    }

    // MARK: Framing

    @Test("Transfer-Encoding the proxy cannot frame exactly is a 502, and no byte of the body reaches the client",
          arguments: [
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n",
          ])
    func unframeableTransferEncoding(head: String) throws {
        // A forged second response behind the last chunk: a client reading the body another way would see it.
        let forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
        let upstream = try Self.rawUpstream(head + "5\r\nhello\r\n0\r\n\r\n" + forged)
        let proxy = try Self.proxy(for: upstream)
        for version in ["HTTP/1.1", "HTTP/1.0"] {
            let answer = try proxy.rawExchange(Self.get(upstream, version: version))
            #expect(answer.hasPrefix("HTTP/1.1 502 "), "\(version): \(answer)")
            #expect(answer.contains("X-Atpgate-Error: upstream-failed"))
            #expect(!answer.contains("hello") && !answer.contains("forged"))
        }
    }

    @Test("bytes behind the end of a chunked body never reach the client as a response of their own")
    func nothingBehindTheLastChunk() throws {
        let upstream = try Self.rawUpstream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                                            + "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
        let proxy = try Self.proxy(for: upstream)
        let answer = try proxy.rawExchange(Self.get(upstream))
        #expect(answer.hasSuffix("5\r\nhello\r\n0\r\n\r\n"), "\(answer)")
        #expect(!answer.contains("forged"))
    }

    @Test("Content-Length with chunked: the client is told the framing the proxy read, never the stale length",
          arguments: ["HTTP/1.0", "HTTP/1.1"])
    func contentLengthAndChunked(clientVersion: String) throws {
        let upstream = try Self.rawUpstream("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                                            + "5\r\nhello\r\n0\r\n\r\n")
        let proxy = try Self.proxy(for: upstream)
        let answer = try proxy.rawExchange(Self.get(upstream, version: clientVersion, close: false))
        let parts = answer.components(separatedBy: "\r\n\r\n")
        let head = parts[0]
        #expect(!head.lowercased().contains("content-length"), "\(head)")
        if clientVersion == "HTTP/1.0" {
            #expect(!head.lowercased().contains("transfer-encoding"))
            #expect(head.contains("Connection: close"))
            #expect(answer.hasSuffix("\r\n\r\nhello"))
        } else {
            #expect(head.contains("Transfer-Encoding: chunked"))
            #expect(answer.hasSuffix("\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
        }
    }

    @Test("repeated Content-Length values go out as one normalised field")
    func repeatedContentLength() throws {
        let upstream = try Self.rawUpstream("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok")
        let answer = try Self.proxy(for: upstream).rawExchange(Self.get(upstream))
        #expect(Self.count("Content-Length", in: answer) == 1)
        #expect(answer.contains("Content-Length: 2\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nok"))
    }

    @Test("a close-delimited response goes to the client close-delimited, without a Content-Length or Transfer-Encoding")
    func closeDelimited() throws {
        let upstream = try Self.rawUpstream("HTTP/1.0 200 OK\r\n\r\nuntil the end")
        let proxy = try Self.proxy(for: upstream)
        let socket = try proxy.connect()
        try socket.send(Self.get(upstream, close: false))
        let answer = try socket.receiveAll().text
        #expect(answer.contains("Connection: close\r\n"))
        #expect(!answer.lowercased().contains("content-length") && !answer.lowercased().contains("transfer-encoding"))
        #expect(answer.hasSuffix("\r\n\r\nuntil the end"))
    }

    @Test("many pipelined requests on one connection are all answered, in order")
    func manyPipelined() throws {
        let origin = try HTTPTestServer()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["origin.test:\(origin.port)"], hosts: ["origin.test": "127.0.0.1"]))
        let socket = try proxy.connect()
        let one = "GET http://origin.test:\(origin.port)/cl/1 HTTP/1.1\r\nHost: origin.test\r\n\r\n"
        let last = "GET http://origin.test:\(origin.port)/cl/2 HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n"
        try socket.send(String(repeating: one, count: 199) + last)
        let all = try socket.receiveAll().text
        #expect(Self.count("HTTP/1.1 200 OK", in: all) == 200)
        #expect(all.hasSuffix("\r\n\r\nxx"))
    }
}
