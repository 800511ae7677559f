#if canImport(Glibc)
import Glibc
#endif
import CAtpgateSys

/// A kernel pipe used to move tunnel bytes socket -> pipe -> socket with splice(2), without
/// copying them through user space. Linux only.
public struct SplicePipe {
    public let readEnd: Int32
    public let writeEnd: Int32
    public let capacity: Int

    /// The pipe size asked for; the kernel may refuse (EPERM past /proc/sys/fs/pipe-user-pages-soft
    /// for non-root users), and then the default 64 KiB pipe is used.
    static let preferredCapacity = 1 << 20

    /// Nil when no pipe can be had (EMFILE, ENFILE, ...): the caller keeps copying.
    public static func make() -> SplicePipe? {
        var fds: [Int32] = [-1, -1]
        guard atpgate_pipe_nonblocking(&fds) == 0 else { return nil }
        var capacity = Int(atpgate_set_pipe_size(fds[1], Int32(preferredCapacity)))
        if capacity <= 0 {
            capacity = Int(atpgate_get_pipe_size(fds[1]))
            if capacity <= 0 { capacity = 65536 }
        }
        return SplicePipe(readEnd: fds[0], writeEnd: fds[1], capacity: capacity)
    }

    /// Moves up to `count` bytes from descriptor `from` to `to`. Returns bytes moved (0 = end of
    /// stream when `from` is a socket), nil when it would block.
    public static func splice(from: Int32, to: Int32, count: Int) throws(SocketError) -> Int? {
        while true {
            let n = atpgate_splice(from, to, count)
            if n >= 0 { return n }
            let error = SocketError("splice")
            if error.errno == EINTR { continue }
            if error.wouldBlock { return nil }
            throw error
        }
    }

    public func close() {
        _ = Glibc.close(readEnd)
        _ = Glibc.close(writeEnd)
    }
}
