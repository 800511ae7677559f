#if canImport(Glibc)
import Glibc
#endif
import CAtpgateSys

/// systemd's readiness protocol without libsystemd: each `notify` is one datagram of `KEY=VALUE` lines
/// sent to the AF_UNIX socket named by `NOTIFY_SOCKET` (`READY=1`, `RELOADING=1`, `STOPPING=1`, ...).
///
/// Best effort, as `sd_notify` is: a failed send is ignored (the service manager may be gone or the
/// variable stale), and a send never waits more than a moment for a full queue, so a stuck manager
/// cannot stall the queue that sends it.
public struct SystemdNotifier: Sendable {
    /// The environment variable systemd sets for `Type=notify` and `Type=notify-reload` services.
    public static let environmentVariable = "NOTIFY_SOCKET"

    /// The socket as the variable gave it (`/run/...` or `@abstract`).
    public let socketPath: String
    /// sun_path's bytes: the path without a terminating NUL, or for an abstract name a NUL then the name.
    private let pathBytes: [UInt8]

    /// nil for a value systemd itself would refuse: empty, neither absolute nor `@abstract` (e.g. `vsock:`,
    /// which atpgate does not speak), or longer than sun_path holds.
    public init?(socketPath: String) {
        var bytes = Array(socketPath.utf8)
        switch bytes.first {
        case UInt8(ascii: "/"):
            // A path needs room for its terminating NUL.
            guard bytes.count < Self.sunPathCapacity, !bytes.contains(0) else { return nil }
        case UInt8(ascii: "@"):
            // Abstract namespace: the '@' stands for the leading NUL, and the name's length is exact.
            guard bytes.count > 1, bytes.count <= Self.sunPathCapacity else { return nil }
            bytes[0] = 0
        default:
            return nil
        }
        self.socketPath = socketPath
        self.pathBytes = bytes
    }

    /// The notifier for `$NOTIFY_SOCKET`; nil when it is unset, empty or unusable (see `environmentValue`
    /// to tell the two apart and warn about the latter).
    public static func fromEnvironment() -> SystemdNotifier? {
        environmentValue.flatMap { SystemdNotifier(socketPath: $0) }
    }

    /// `$NOTIFY_SOCKET`, nil when unset or empty.
    public static var environmentValue: String? {
        guard let raw = getenv(environmentVariable), let value = String(validatingCString: raw), !value.isEmpty else {
            return nil
        }
        return value
    }

    /// Sends `state` (one or more `KEY=VALUE` lines separated by "\n") in one datagram.
    /// Returns whether the datagram was sent (callers ignore it; tests do not).
    @discardableResult
    public func notify(_ state: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // A datagram socket blocks while the receiver's queue is full: wait a little, never forever.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            sunPath.copyBytes(from: pathBytes)
        }
        // The exact length: an abstract name is all of its bytes, NULs included, and nothing more.
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count)
        var message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeMutableBytes { bytes in
                    while true {
                        let n = sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                        if n < 0 && errno == EINTR { continue }
                        return n
                    }
                }
            }
        }
        return sent == message.count
    }

    private static var sunPathCapacity: Int {
        MemoryLayout.size(ofValue: sockaddr_un().sun_path)
    }
}
