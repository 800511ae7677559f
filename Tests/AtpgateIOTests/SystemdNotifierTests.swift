import Testing
@testable import AtpgateIO
import CAtpgateSys
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify without libsystemd: datagrams read back from a real AF_UNIX socket, as systemd reads them.
@Suite("systemd notifier")
struct SystemdNotifierTests {
    /// A bound datagram socket playing systemd's notify socket: a path, or an abstract name (`@name`).
    final class NotifySocket {
        let fd: Int32
        let name: String
        private var directory: String?

        /// A socket file in a fresh temporary folder.
        init() throws {
            var template = Array("/tmp/atpgate-notify-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw TestError("mkdtemp: \(errno)") }
            directory = String(cString: made)
            name = directory! + "/notify.sock"
            fd = try Self.bind(Array(name.utf8))
        }

        /// An abstract-namespace socket (a leading NUL instead of '@'), unique per test process.
        init(abstract: String) throws {
            name = "@" + abstract
            fd = try Self.bind([0] + Array(abstract.utf8))
        }

        private static func bind(_ path: [UInt8]) throws -> Int32 {
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw TestError("socket: \(errno)") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
            }
            guard result == 0 else { close(fd); throw TestError("bind: \(errno)") }
            return fd
        }

        /// The next datagram, or nil when none comes within `timeout` seconds.
        func receive(timeout: Double = 5) -> String? {
            guard atpgate_poll_one(fd, Int16(POLLIN), Int32(timeout * 1000)) > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
        }

        deinit {
            close(fd)
            if let directory {
                unlink(name)
                rmdir(directory)
            }
        }
    }

    @Test("a datagram per notify, read back whole from a socket file")
    func pathSocket() throws {
        let socket = try NotifySocket()
        let notifier = try #require(SystemdNotifier(socketPath: socket.name))
        #expect(notifier.notify("READY=1"))
        #expect(socket.receive() == "READY=1")
        #expect(notifier.notify("RELOADING=1\nMONOTONIC_USEC=42"))
        #expect(socket.receive() == "RELOADING=1\nMONOTONIC_USEC=42")
    }

    @Test("an abstract socket: '@' stands for the leading NUL")
    func abstractSocket() throws {
        let socket = try NotifySocket(abstract: "atpgate-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let notifier = try #require(SystemdNotifier(socketPath: socket.name))
        #expect(notifier.notify("STOPPING=1"))
        #expect(socket.receive() == "STOPPING=1")
    }

    @Test("values systemd would refuse give no notifier: empty, relative, vsock, too long")
    func unusableValues() {
        #expect(SystemdNotifier(socketPath: "") == nil)
        #expect(SystemdNotifier(socketPath: "@") == nil)
        #expect(SystemdNotifier(socketPath: "run/notify") == nil)
        #expect(SystemdNotifier(socketPath: "vsock:2:1234") == nil)
        #expect(SystemdNotifier(socketPath: "/" + String(repeating: "a", count: 107)) == nil)
        #expect(SystemdNotifier(socketPath: "/" + String(repeating: "a", count: 106)) != nil)   // 107 + NUL = 108
        #expect(SystemdNotifier(socketPath: "@" + String(repeating: "a", count: 107)) != nil)   // NUL + 107 = 108
        #expect(SystemdNotifier(socketPath: "@" + String(repeating: "a", count: 108)) == nil)
    }

    @Test("best effort: a socket nobody listens on is no crash, only a false return")
    func nobodyListening() throws {
        let notifier = try #require(SystemdNotifier(socketPath: "/nonexistent-atpgate-dir/notify.sock"))
        #expect(!notifier.notify("READY=1"))
    }
}
