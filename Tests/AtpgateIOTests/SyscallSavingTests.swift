import Testing
import Foundation
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateIO

/// The syscalls a short tunnel no longer makes, and what each saving relies on: TCP_NODELAY inherited
/// through accept, a connect settled by one poll, a half-close deferred to the end of the poll set's
/// batch (and dropped when the socket closes first); and that a closed socket leaves the epoll set.
@Suite("Syscalls saved per connection")
struct SyscallSavingTests {
    /// A listening loopback TCP socket on a free port (blocking accept is fine in a test).
    static func listener(noDelay: Bool) throws -> (Socket, SocketAddress) {
        let socket = try Socket.makeTCP(family: AF_INET)
        if noDelay { try socket.setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1) }
        try socket.bind(SocketAddress(ip: .init("127.0.0.1")!, port: 0))
        try socket.listen(backlog: 16)
        guard let address = socket.localAddress else { throw TestError("no local address") }
        return (socket, address)
    }

    /// Connects a blocking client to `address` and accepts it (non-blocking accept, retried briefly).
    static func connectAndAccept(_ listener: Socket, _ address: SocketAddress,
                                 noDelayInherited: Bool = false) throws -> (client: Socket, accepted: Socket) {
        let client = try Socket.makeTCP(family: AF_INET)
        _ = try client.startConnect(to: address)
        for _ in 0..<500 {
            if let (accepted, _) = try listener.accept(noDelayInherited: noDelayInherited) { return (client, accepted) }
            usleep(2_000)
        }
        client.close()
        throw TestError("nothing to accept")
    }

    @Test("a listener's TCP_NODELAY reaches the sockets it accepts, so they skip their own setsockopt")
    func noDelayInherited() throws {
        let (with, withAddress) = try Self.listener(noDelay: true)
        defer { with.close() }
        let (a, b) = try Self.connectAndAccept(with, withAddress, noDelayInherited: true)
        defer { a.close(); b.close() }
        #expect(b.isNoDelayOn, "Linux copies TCP_NODELAY from the listener on accept")
        #expect(b.hasNoDelay)

        let (without, withoutAddress) = try Self.listener(noDelay: false)
        defer { without.close() }
        let (c, d) = try Self.connectAndAccept(without, withoutAddress)
        defer { c.close(); d.close() }
        #expect(!d.isNoDelayOn)
        #expect(!d.hasNoDelay)
        d.setNoDelay()
        #expect(d.isNoDelayOn, "without the inherited flag setNoDelay still sets it")
        // The flag is not part of the socket's identity.
        #expect(Socket(fd: d.fd, noDelayKnown: true) == d)
        #expect(Set([Socket(fd: d.fd, noDelayKnown: true), d]).count == 1)
    }

    @Test("one poll settles a loopback connect: connected, or failed with the connect's errno")
    func connectProgress() throws {
        let (listener, address) = try Self.listener(noDelay: false)
        defer { listener.close() }
        let client = try Socket.makeTCP(family: AF_INET)
        defer { client.close() }
        let done = try client.startConnect(to: address)
        if !done {
            #expect(eventually(timeout: 5) { client.connectProgress == .connected })
        }
        #expect(client.connectProgress == .connected)

        // A port nobody listens on: the listener's port once it is closed.
        let (closed, closedAddress) = try Self.listener(noDelay: false)
        closed.close()
        let refused = try Socket.makeTCP(family: AF_INET)
        defer { refused.close() }
        do {
            _ = try refused.startConnect(to: closedAddress)
            // Asked once, as the dialer does: reading SO_ERROR clears it.
            #expect(eventually(timeout: 5) { refused.isWritableNow })
            #expect(refused.connectProgress == .failed(ECONNREFUSED))
        } catch {
            #expect(error.errno == ECONNREFUSED)   // refused at once: also fine
        }
    }

    /// A socketpair end on a loop, and the other end for the test.
    final class Pair: @unchecked Sendable {
        let loop = IOLoop(label: "test.syscalls")
        let channel: SocketChannel
        let peer: Int32

        init() throws {
            (channel, peer) = try channelPair(on: loop)
        }

        deinit {
            loop.queue.sync { channel.close() }
            Glibc.close(peer)
        }

        /// Reads from the peer end until end of stream (true) or `timeout` (false).
        func peerSeesEndOfStream(timeout: Double = 5) -> Bool {
            var pfd = pollfd(fd: peer, events: Int16(POLLIN), revents: 0)
            var byte: UInt8 = 0
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                guard poll(&pfd, 1, 100) > 0 else { continue }
                let n = Glibc.recv(peer, &byte, 1, Int32(MSG_DONTWAIT))
                if n == 0 { return true }
                if n < 0 && errno != EAGAIN { return false }
            }
            return false
        }
    }

    @Test("a half-close asked for in an event handler reaches the peer once the batch is handled")
    func deferredHalfClose() throws {
        let pair = try Pair()
        let channel = pair.channel
        let shutdownAsked = Locked(false)
        pair.loop.queue.sync {
            channel.setReadHandler {
                var buffer = [UInt8](repeating: 0, count: 64)
                while let n = buffer.withUnsafeMutableBytes({ try? channel.read(into: $0) }) ?? nil, n > 0 {}
                channel.shutdownWrite()
                shutdownAsked.withLock { $0 = true }
            }
        }
        _ = Glibc.write(pair.peer, "x", 1)
        #expect(eventually(timeout: 5) { shutdownAsked.value })
        #expect(pair.peerSeesEndOfStream(), "the deferred shutdown ran at the end of the batch")
        // The channel can still read after its half-close (only writing ended).
        #expect(!pair.loop.queue.sync { channel.isClosed })
    }

    @Test("a half-close followed by a close in the same handler: the close alone ends the stream")
    func halfCloseThenClose() throws {
        let pair = try Pair()
        let channel = pair.channel
        let closed = Locked(false)
        pair.loop.queue.sync {
            channel.setReadHandler {
                // Drained first: closing with unread input would reset the stream instead of ending it.
                var buffer = [UInt8](repeating: 0, count: 64)
                while let n = buffer.withUnsafeMutableBytes({ try? channel.read(into: $0) }) ?? nil, n > 0 {}
                channel.shutdownWrite()
                channel.close()
                closed.withLock { $0 = true }
            }
        }
        _ = Glibc.write(pair.peer, "x", 1)
        #expect(eventually(timeout: 5) { closed.value })
        #expect(pair.peerSeesEndOfStream())
        #expect(pair.loop.queue.sync { pair.loop.pollSet.count } == 0)
    }

    @Test("outside an event handler a half-close happens at once")
    func immediateHalfClose() throws {
        let pair = try Pair()
        pair.loop.queue.sync { pair.channel.shutdownWrite() }
        var byte: UInt8 = 0
        // No poll-set batch was running: the peer reads end of stream without the loop doing anything more.
        #expect(Glibc.recv(pair.peer, &byte, 1, Int32(MSG_DONTWAIT)) == 0)
    }

    @Test("a closed socket leaves the epoll set: bytes its peer sends afterwards reach no handler")
    func closeLeavesTheSet() throws {
        let loop = IOLoop(label: "test.nodel")
        var fds: [Int32] = [0, 0]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw TestError("socketpair") }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        let old = SocketChannel(socket: Socket(fd: fds[0]), loop: loop)
        let oldHits = Locked(0)
        loop.queue.sync {
            old.setReadHandler { oldHits.withLock { $0 += 1 } }
            old.close()
        }
        // The peer writes after the close: the registration is gone, nothing arrives.
        _ = Glibc.send(fds[1], "x", 1, Int32(MSG_NOSIGNAL))   // EPIPE, without a SIGPIPE
        usleep(100_000)
        #expect(oldHits.value == 0)
        #expect(loop.queue.sync { loop.pollSet.count } == 0)
        Glibc.close(fds[1])
    }
}
