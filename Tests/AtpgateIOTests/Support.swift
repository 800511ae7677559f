@testable import AtpgateIO
#if canImport(Glibc)
import Glibc
#endif

// `eventually` and `TestError` mirror Tests/AtpgateEngineTests/Support (a test target
// cannot import another's files); keep them the same as there.

/// Polls `condition` until it holds or `timeout` seconds pass.
func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A non-blocking `SocketChannel` on one end of a Unix socket pair, and the other end's descriptor.
/// Close-on-exec like the proxy's sockets: a child process another suite starts meanwhile must not keep
/// an end open, or its close would not end the stream.
func channelPair(on loop: IOLoop) throws -> (channel: SocketChannel, peer: Int32) {
    var fds: [Int32] = [0, 0]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw TestError("socketpair: \(errno)") }
    _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
    return (SocketChannel(socket: Socket(fd: fds[0]), loop: loop), fds[1])
}
