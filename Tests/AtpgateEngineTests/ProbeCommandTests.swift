import Foundation
import Testing

/// `atpgate probe URL`, the health check of the container image (its HEALTHCHECK and exec probes): the real
/// binary against real sockets on loopback. Exit 0 only on a 2xx final response; one line saying why.
@Suite("atpgate probe")
struct ProbeCommandTests {
    private func probe(_ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        try runCommand(ChildProxy.binaryPath, ["probe"] + arguments)
    }

    /// A server that answers every request with `response` and closes.
    private func answering(_ response: String) throws -> TestServer {
        try TestServer { socket in
            _ = try? socket.receive(until: "\r\n\r\n")
            try? socket.send(response)
        }
    }

    @Test("a 200 exits 0 with one line on stdout; the request is a GET with Host and Connection: close")
    func ok() throws {
        let server = try HTTPTestServer()
        let url = "http://127.0.0.1:\(server.port)/cl/5?x=1"
        let result = try probe(url)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "probe: \(url): 200 OK\n")
        #expect(result.stderr.isEmpty)
        let head = try #require(server.receivedHeads.first)
        #expect(head.hasPrefix("GET /cl/5?x=1 HTTP/1.1\r\n"))
        #expect(head.contains("\r\nHost: 127.0.0.1:\(server.port)\r\n"))
        #expect(head.contains("\r\nConnection: close\r\n"))
    }

    @Test("an IPv6 literal in brackets and a name (getaddrinfo, every address tried in turn) work too")
    func ipv6AndNames() throws {
        // Answers 200 only when the Host field is the bracketed literal with its port.
        let v6 = try TestServer(host: "::1") { socket in
            let head = String(decoding: (try? socket.receive(until: "\r\n\r\n")) ?? [], as: UTF8.self)
            let host = head.split(separator: "\r\n").first { $0.hasPrefix("Host: [::1]:") }
            try? socket.send(host != nil ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                                         : "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        }
        let literal = try probe("http://[::1]:\(v6.port)/healthz")
        #expect(literal.status == 0, "stderr: \(literal.stderr)")

        // localhost may resolve to ::1 before 127.0.0.1; only the IPv4 address listens here.
        let v4 = try HTTPTestServer()
        let name = try probe("http://localhost:\(v4.port)/cl/0")
        #expect(name.status == 0, "stderr: \(name.stderr)")
    }

    @Test("interim 100 responses are skipped: the final 200 decides")
    func interimSkipped() throws {
        let server = try HTTPTestServer()
        let result = try probe("http://127.0.0.1:\(server.port)/continue")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasSuffix(": 200 OK\n"))
    }

    @Test("a 503 exits 1 and says so on stderr")
    func unavailable() throws {
        let server = try answering("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\n\r\ndraining")
        let url = "http://127.0.0.1:\(server.port)/readyz"
        let result = try probe(url)
        #expect(result.status == 1)
        #expect(result.stderr == "probe: \(url): 503 Service Unavailable\n")
        #expect(result.stdout.isEmpty)
    }

    @Test("nothing listening exits 1 naming the connect step")
    func refused() throws {
        let url = "http://127.0.0.1:\(TestServer.closedPort())/healthz"
        let result = try probe(url)
        #expect(result.status == 1)
        #expect(result.stderr == "probe: \(url): connect: Connection refused\n")
    }

    @Test("a server that never answers exits 1 once --timeout has passed")
    func silentServer() throws {
        let server = try TestServer { socket in
            // Reads the request and holds the connection open without a byte of answer, until the probe goes.
            _ = try? socket.receiveAll()
        }
        let url = "http://127.0.0.1:\(server.port)/healthz"
        let result = try probe("--timeout", "1", url)
        #expect(result.status == 1)
        #expect(result.stderr == "probe: \(url): response: timed out\n")
    }

    @Test("an answer that is not HTTP, or a close before any answer, exits 1 and says which")
    func brokenAnswers() throws {
        let garbage = try answering("SSH-2.0-OpenSSH_9.2\r\n\r\n")
        let garbled = try probe("http://127.0.0.1:\(garbage.port)/")
        #expect(garbled.status == 1)
        #expect(garbled.stderr.contains(": response: invalid response head"), "stderr: \(garbled.stderr)")

        let closing = try TestServer { socket in _ = try? socket.receive(until: "\r\n\r\n") }
        let closed = try probe("http://127.0.0.1:\(closing.port)/")
        #expect(closed.status == 1)
        #expect(closed.stderr.hasSuffix(": response: connection closed without a response\n"), "stderr: \(closed.stderr)")
    }

    @Test("https and other URLs it cannot probe exit 1 with one line, without connecting")
    func refusedURLs() throws {
        let server = try HTTPTestServer()
        let https = try probe("https://127.0.0.1:\(server.port)/healthz")
        #expect(https.status == 1)
        #expect(https.stderr.contains("https is not supported"), "stderr: \(https.stderr)")
        for url in ["ftp://127.0.0.1/", "http://user@127.0.0.1:\(server.port)/", "http://127.0.0.1:99999/",
                    "http://[::1/", "http://127.0.0.1:\(server.port)/a b"] {
            let result = try probe(url)
            #expect(result.status == 1, "\(url)")
            #expect(result.stderr.hasPrefix("probe: \(url): ") && result.stderr.split(separator: "\n").count == 1,
                    "\(url): \(result.stderr)")
        }
        #expect(server.server.acceptedCount == 0)
    }
}
