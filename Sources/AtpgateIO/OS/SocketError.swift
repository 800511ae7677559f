#if canImport(Glibc)
import Glibc
#endif

/// A failed system call on a socket: which call, and the errno it left.
public struct SocketError: Error, Sendable, CustomStringConvertible, Equatable {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno)))"
    }

    /// The call would block; try again when the descriptor is ready.
    public var wouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
}
