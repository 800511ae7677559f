#if canImport(Glibc)
import Glibc
#endif

/// An access-log file that could not be opened, as operators read it: `path: reason`.
public struct AccessLogFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let errno: Int32

    public init(path: String, errno: Int32) {
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(path): \(String(cString: strerror(errno)))" }
}

/// Opens the access-log file (`log: {access: PATH}` or `--access-log`), at start-up and again on SIGUSR1.
public enum AccessLogFile {
    /// Owner writes, group reads (log shippers run in the group); the umask may narrow it further.
    public static let mode: mode_t = 0o640

    /// A descriptor appending to `path`, created when missing; the caller owns it. Appending (never
    /// truncating) is what logrotate expects: after it renames the file, the next open makes a new one.
    public static func open(_ path: String) throws(AccessLogFileError) -> Int32 {
        while true {
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw AccessLogFileError(path: path, errno: errno)
        }
    }
}
