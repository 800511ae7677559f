import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine

/// Live reload end to end: a running proxy, a policy file edited the ways operators and tools edit it.
@Suite("Live policy reload")
struct ReloadTests {
    /// A proxy on `policy.yaml` in a fresh folder, with its reloader and a captured diagnostics log.
    final class Fixture: @unchecked Sendable {
        let directory: TemporaryDirectory
        let upstream: TestServer
        let proxy: ProxyHarness
        let reloader: PolicyReloader
        let log = CapturedLog()
        let policyPath: String

        init(initiallyAllowed: Bool, extra: String = "", symlinked: Bool = false) throws {
            directory = try TemporaryDirectory()
            upstream = try TestServer.echo()
            if symlinked {
                // The Kubernetes ConfigMap layout: policy.yaml -> ..data/policy.yaml, ..data -> data1.
                try FileManager.default.createDirectory(atPath: directory.file("data1"), withIntermediateDirectories: false)
                policyPath = directory.file("policy.yaml")
                _ = try directory.write("data1/policy.yaml", Self.yaml(allowed: initiallyAllowed, port: upstream.port, extra: extra))
                symlink("data1", directory.file("..data"))
                symlink("..data/policy.yaml", policyPath)
            } else {
                policyPath = try directory.write("policy.yaml", Self.yaml(allowed: initiallyAllowed, port: upstream.port, extra: extra))
            }
            proxy = try ProxyHarness(policyFile: policyPath)
            reloader = PolicyReloader(path: policyPath, server: proxy.server, logger: log.logger, debounce: 0.05)
            reloader.start()
        }

        deinit { reloader.stop() }

        static func yaml(allowed: Bool, port: UInt16, extra: String = "") -> String {
            loopbackPolicy(allow: allowed ? ["svc.test:\(port)"] : [], hosts: ["svc.test": "127.0.0.1"], extra: extra)
        }

        func yaml(allowed: Bool, extra: String = "") -> String { Self.yaml(allowed: allowed, port: upstream.port, extra: extra) }

        var status: Int { (try? proxy.connectStatus("svc.test:\(upstream.port)")) ?? 0 }
    }

    @Test("an in-place edit applies to new connections")
    func inPlaceEdit() throws {
        let fixture = try Fixture(initiallyAllowed: false)
        #expect(fixture.status == 403)
        try fixture.yaml(allowed: true).write(toFile: fixture.policyPath, atomically: false, encoding: .utf8)
        #expect(eventually { fixture.status == 200 })
        #expect(fixture.log.contains("policy reloaded (file change)"))
    }

    @Test("an editor's write-and-rename applies")
    func renameOver() throws {
        let fixture = try Fixture(initiallyAllowed: true)
        #expect(fixture.status == 200)
        let temporary = try fixture.directory.write(".policy.yaml.swp", fixture.yaml(allowed: false))
        #expect(rename(temporary, fixture.policyPath) == 0)
        #expect(eventually { fixture.status == 403 })
    }

    @Test("a ConfigMap-style symlink swap applies, and so does an in-place edit of the new target")
    func symlinkSwap() throws {
        let fixture = try Fixture(initiallyAllowed: false, symlinked: true)
        #expect(fixture.status == 403)
        try FileManager.default.createDirectory(atPath: fixture.directory.file("data2"), withIntermediateDirectories: false)
        _ = try fixture.directory.write("data2/policy.yaml", fixture.yaml(allowed: true))
        symlink("data2", fixture.directory.file("..data_tmp"))
        #expect(rename(fixture.directory.file("..data_tmp"), fixture.directory.file("..data")) == 0)
        #expect(eventually { fixture.status == 200 })
        // Now edit the file the symlink resolves to, in place.
        try fixture.yaml(allowed: false).write(toFile: fixture.directory.file("data2/policy.yaml"), atomically: false, encoding: .utf8)
        #expect(eventually { fixture.status == 403 })
    }

    @Test("a broken edit is logged with file:line:col and the last good policy keeps serving")
    func brokenEditKeepsOldPolicy() throws {
        let fixture = try Fixture(initiallyAllowed: true)
        #expect(fixture.status == 200)
        try "version: 1\nallow:\n  - \"svc.test:80\"\n  bad: [\n".write(toFile: fixture.policyPath, atomically: false, encoding: .utf8)
        #expect(eventually { fixture.log.contains("policy reload failed: \(fixture.policyPath):") })
        let line = fixture.log.messages.value.first { $0.contains("policy reload failed") } ?? ""
        #expect(line.range(of: #"policy\.yaml:\d+:\d+: "#, options: .regularExpression) != nil, "log: \(line)")
        #expect(fixture.status == 200)
        // Fixing the file applies again.
        try fixture.yaml(allowed: false).write(toFile: fixture.policyPath, atomically: false, encoding: .utf8)
        #expect(eventually { fixture.status == 403 })
    }

    @Test("a reload request (SIGHUP) reloads even when nothing changed")
    func reloadOnRequest() throws {
        let fixture = try Fixture(initiallyAllowed: true)
        fixture.reloader.reload(trigger: "SIGHUP")
        #expect(eventually { fixture.log.contains("policy reloaded (SIGHUP)") })
        #expect(fixture.status == 200)
    }

    @Test("a changed listen is not applied and is logged as needing a restart")
    func listenChangeNeedsRestart() throws {
        let fixture = try Fixture(initiallyAllowed: true)
        let changed = fixture.yaml(allowed: true).replacingOccurrences(of: "listen: \"127.0.0.1:0\"", with: "listen: \"127.0.0.1:1\"")
        try changed.write(toFile: fixture.policyPath, atomically: false, encoding: .utf8)
        #expect(eventually { fixture.log.contains("restart atpgate to apply it") })
        #expect(fixture.status == 200)
    }

    @Test("on_reload: cut-denied closes live tunnels the new policy denies and logs them; keep leaves them")
    func cutDenied() throws {
        let cutting = try Fixture(initiallyAllowed: true, extra: "on_reload: cut-denied\n")
        let keeping = try Fixture(initiallyAllowed: true, extra: "on_reload: keep\n")
        var tunnels: [BlockingSocket] = []
        for fixture in [cutting, keeping] {
            let tunnel = try fixture.proxy.openTunnel(to: "svc.test:\(fixture.upstream.port)")
            try tunnel.send("before")
            #expect(try tunnel.receive(exactly: 6).text == "before")
            tunnels.append(tunnel)
        }
        try cutting.yaml(allowed: false, extra: "on_reload: cut-denied\n")
            .write(toFile: cutting.policyPath, atomically: false, encoding: .utf8)
        try keeping.yaml(allowed: false, extra: "on_reload: keep\n")
            .write(toFile: keeping.policyPath, atomically: false, encoding: .utf8)
        #expect(eventually { cutting.status == 403 && keeping.status == 403 })
        // The cut tunnel ends (end of stream or a reset); the kept one still relays.
        #expect(((try? tunnels[0].receiveAll()) ?? []).isEmpty)
        // Probes made while waiting for the reload are logged too: find the long-lived tunnel by its bytes.
        let record = cutting.proxy.waitForLog().first { $0.method == "CONNECT" && $0.bytesUp == 6 }
        #expect(record?.error == "policy-cut")
        try tunnels[1].send("after")
        #expect(try tunnels[1].receive(exactly: 5).text == "after")
    }
}
