import Testing
import Foundation
@testable import AtpgateEngine
import AtpgateIO
#if canImport(Glibc)
import Glibc
#endif
import AtpgatePolicy

/// The `atpgate` binary as operators run it: descriptor hygiene, signals, start-up failures.
@Suite("atpgate process", .serialized)
struct ProcessTests {
    @Test("the proxy's descriptor count returns to its baseline after 1,000 tunnels")
    func noDescriptorLeak() throws {
        let upstream = try TestServer.echo()
        let directory = try TemporaryDirectory()
        let policy = try directory.write("leak.yaml", loopbackPolicy(allow: ["echo.test:\(upstream.port)"],
                                                                     hosts: ["echo.test": "127.0.0.1"]))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"])
        // Warm up once so lazily created process-wide descriptors (epoll, eventfd, resolver) exist.
        try exchangeOnce(port: child.port, target: "echo.test:\(upstream.port)")
        usleep(200_000)
        let baseline = child.descriptorCount
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for _ in 0..<125 {
                do { try exchangeOnce(port: child.port, target: "echo.test:\(upstream.port)") }
                catch { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        var settled = child.descriptorCount
        let deadline = Date().addingTimeInterval(10)
        while settled > baseline && Date() < deadline {
            usleep(50_000)
            settled = child.descriptorCount
        }
        #expect(settled == baseline, "descriptors: baseline \(baseline), after 1,000 tunnels \(settled)")
        #expect(child.terminate() == 0)
    }

    private func exchangeOnce(port: UInt16, target: String) throws {
        let socket = try BlockingSocket.connect("127.0.0.1", port)
        try socket.send("CONNECT \(target) HTTP/1.1\r\n\r\nping")
        let answer = try socket.receive(until: "ping").text
        guard answer.hasPrefix("HTTP/1.1 200 ") else { throw TestError("unexpected: \(answer)") }
        socket.shutdownWrite()
        _ = try socket.receiveAll()
    }

    @Test("descriptor exhaustion: accept backs off without spinning, and the proxy serves again once pressure ends")
    func descriptorExhaustion() throws {
        let upstream = try TestServer.echo()
        let directory = try TemporaryDirectory()
        let policy = try directory.write("emfile.yaml", loopbackPolicy(allow: ["echo.test:\(upstream.port)"],
                                                                       hosts: ["echo.test": "127.0.0.1"]))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"], descriptorLimit: 40)
        try exchangeOnce(port: child.port, target: "echo.test:\(upstream.port)")
        // Far more idle clients than descriptors: the rest wait in the backlog while accept fails.
        var idle: [BlockingSocket] = []
        for _ in 0..<80 { idle.append(try BlockingSocket.connect("127.0.0.1", child.port)) }
        usleep(300_000)
        let cpuBefore = child.cpuSeconds
        sleep(1)
        let cpuUsed = child.cpuSeconds - cpuBefore
        #expect(child.process.isRunning)
        #expect(cpuUsed < 0.5, "the accept loop must back off, not spin: \(cpuUsed) CPU seconds in one second")
        idle.removeAll()   // pressure ends
        var served = false
        for _ in 0..<50 where !served {
            served = (try? exchangeOnce(port: child.port, target: "echo.test:\(upstream.port)")) != nil
            if !served { usleep(100_000) }
        }
        #expect(served)
        #expect(child.terminate() == 0)
    }

    @Test("SIGTERM: stops accepting, lets an open tunnel finish within the grace period, exits 0")
    func gracefulShutdown() throws {
        let upstream = try TestServer.echo()
        let directory = try TemporaryDirectory()
        let policy = try directory.write("grace.yaml", loopbackPolicy(allow: ["echo.test:\(upstream.port)"],
                                                                      hosts: ["echo.test": "127.0.0.1"],
                                                                      extra: "timeouts: {grace: 5s}\n"))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"])
        let socket = try BlockingSocket.connect("127.0.0.1", child.port)
        try socket.send("CONNECT echo.test:\(upstream.port) HTTP/1.1\r\n\r\n")
        _ = try socket.receive(until: "\r\n\r\n")
        kill(child.process.processIdentifier, SIGTERM)
        usleep(300_000)
        // New connections are refused; the open tunnel still works.
        #expect(throws: (any Error).self) { _ = try BlockingSocket.connect("127.0.0.1", child.port) }
        try socket.send("after-term")
        #expect(try socket.receive(exactly: 10).text == "after-term")
        socket.shutdownWrite()
        _ = try socket.receiveAll()
        #expect(child.terminate() == 0)
    }

    @Test("SIGHUP reloads the policy, and the reload is logged at once")
    func sighupReloads() throws {
        let upstream = try TestServer.echo()
        let directory = try TemporaryDirectory()
        let policy = try directory.write("hup.yaml", loopbackPolicy(allow: [], hosts: ["echo.test": "127.0.0.1"]))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"])
        // libdispatch installs its signal handler from its manager thread, a moment after the
        // source is resumed: a SIGHUP in the first instant after start-up can go unseen, so repeat it.
        #expect(eventually {
            kill(child.process.processIdentifier, SIGHUP)
            usleep(200_000)
            return child.diagnostics.value.contains("policy reloaded (SIGHUP)")
        })
        // And a file edit is picked up without a signal.
        try loopbackPolicy(allow: ["echo.test:\(upstream.port)"], hosts: ["echo.test": "127.0.0.1"])
            .write(toFile: policy, atomically: false, encoding: .utf8)
        #expect(eventually { (try? exchangeOnce(port: child.port, target: "echo.test:\(upstream.port)")) != nil })
        #expect(child.terminate() == 0)
    }

    @Test("check: exit 0 and every effective rule with its reference; exit 1 and file:line:col for a broken file")
    func checkCommand() throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("good.yaml", loopbackPolicy(allow: ["a.test", "*.b.test:80"], deny: ["x.a.test"]))
        let ok = try runCommand(ChildProxy.binaryPath, ["check", "--policy", good])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("allow a.test:443 (good.yaml:"))
        #expect(ok.stdout.contains("allow *.b.test:80 (good.yaml:"))
        #expect(ok.stdout.contains("deny x.a.test:* (good.yaml:"))
        let bad = try directory.write("bad.yaml", "version: 1\nallow:\n  - \"foo*.bar\"\n")
        let failed = try runCommand(ChildProxy.binaryPath, ["check", "--policy", bad])
        #expect(failed.status == 1)
        #expect(failed.stderr.hasPrefix("\(bad):3:"), "stderr: \(failed.stderr)")
    }

    @Test("explain: allow exits 0, deny exits 1, a bad target or policy exits 2; --resolve vets addresses")
    func explainCommand() throws {
        let directory = try TemporaryDirectory()
        let policy = try directory.write("p.yaml", loopbackPolicy(allow: ["a.test", "private.test", "http://pki.test/pki/*"],
                                                                  deny: ["no.a.test"],
                                                                  hosts: ["private.test": "10.1.2.3", "a.test": "127.0.0.1"]))
        func explain(_ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
            try runCommand(ChildProxy.binaryPath, ["explain", "--policy", policy] + arguments)
        }
        let allowed = try explain("a.test:443")
        #expect(allowed.status == 0)
        #expect(allowed.stdout.hasPrefix("allow\nrule: p.yaml:"))
        let path = try explain("http://pki.test/pki/root.crl")
        #expect(path.status == 0)
        let denied = try explain("no.a.test:443")
        #expect(denied.status == 1)
        #expect(denied.stdout.hasPrefix("deny\n"))
        #expect(try explain("elsewhere.test:443").stdout.contains("rule: default"))
        #expect(try explain("127.1:443").status == 2)
        #expect(try explain("--client", "10.0.0.1", "a.test:443").stdout.contains("rule: clients"))
        // Without --resolve the policy alone decides; with it, the address is vetted too.
        #expect(try explain("private.test:443").status == 0)
        let vetted = try explain("--resolve", "private.test:443")
        #expect(vetted.status == 1)
        #expect(vetted.stdout.contains("rule: builtin:10.0.0.0/8"))
        #expect(try explain("--resolve", "a.test:443").status == 0)
    }

    @Test("a broken policy: one clear line on stderr, exit 1")
    func badPolicyExitsOne() throws {
        let directory = try TemporaryDirectory()
        let policy = try directory.write("bad.yaml", "version: 1\nalow: [a.test]\n")
        let result = try runCommand(ChildProxy.binaryPath, ["run", "--policy", policy])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("bad.yaml:2:"))
    }

    @Test("a listener that cannot bind: one clear line on stderr, exit 1")
    func bindFailureExitsOne() throws {
        let occupied = try TestServer.echo()
        let directory = try TemporaryDirectory()
        let policy = try directory.write("ok.yaml", loopbackPolicy(allow: []))
        let result = try runCommand(ChildProxy.binaryPath, ["run", "--policy", policy, "--listen", "127.0.0.1:\(occupied.port)"])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:\(occupied.port)"))
    }

    @Test("the shipped policies/atpgate.yaml passes the policy loader and listens on 127.0.0.1:3128")
    func shippedPolicyLoads() throws {
        let policy = try PolicyLoader.load(path: repositoryRoot + "/policies/atpgate.yaml")
        #expect(policy.listen.map(\.description) == ["127.0.0.1:3128"])
    }
}
