import CAtpgateSys
#if canImport(Glibc)
import Glibc
#endif

/// A bound AF_UNIX datagram socket playing systemd's notify socket (`NOTIFY_SOCKET` for a child proxy):
/// a socket file in a fresh temporary folder, short enough for sun_path.
final class NotifySocket: @unchecked Sendable {
    let fd: Int32
    let path: String
    private let directory: String

    init() throws {
        var template = Array("/tmp/atpgate-notify-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestError("mkdtemp: \(errno)") }
        directory = String(cString: made)
        path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + 1)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard result == 0 else { throw TestError("bind \(path): \(errno)") }
    }

    /// The next datagram, or nil when none comes within `timeout` seconds.
    func receive(timeout: Double = 10) -> String? {
        guard atpgate_poll_one(fd, Int16(POLLIN), Int32(timeout * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
    }

    deinit {
        close(fd)
        unlink(path)
        rmdir(directory)
    }
}
