import Testing
import Foundation
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine
@testable import AtpgateIO

/// The relay's byte mover on real loopback TCP pairs, without the proxy around it: partial writes and
/// back-pressure, half-close, a reset on each side, framed bodies that stop exactly at their end.
@Suite("Relay pump on socket pairs")
struct RelayPumpTests {
    /// Two connected loopback TCP sockets: `proxySide` nonblocking (for a channel), `peer` blocking (the test's).
    static func tcpPair() throws -> (proxySide: Int32, peer: Int32) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        _ = Glibc.listen(listener, 4)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let peer = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(peer, $0, length) } }
        guard connected == 0 else { throw TestError("connect: \(errno)") }
        let proxySide = accept(listener, nil, nil)
        guard proxySide >= 0 else { throw TestError("accept: \(errno)") }
        _ = fcntl(proxySide, F_SETFL, fcntl(proxySide, F_GETFL) | O_NONBLOCK)
        return (proxySide, peer)
    }

    /// Closes the socket behind `fd` with a reset (SO_LINGER 0 must be set) while `fd` stays open on
    /// /dev/null, so its owner's later close cannot hit a number another test has been given since.
    static func resetKeepingNumber(_ fd: Int32) {
        let null = open("/dev/null", O_RDONLY)
        _ = dup2(null, fd)
        Glibc.close(null)
    }

    /// client peer → [source channel → pump → sink channel] → upstream peer.
    final class Rig: @unchecked Sendable {
        let loop = IOLoop(label: "test.pump")
        let source: SocketChannel
        let sink: SocketChannel
        let clientPeer: BlockingSocket
        let upstreamPeer: BlockingSocket
        let pump: Pump
        let counters = LoopCounters()
        /// The pump's counters, read on its loop (they are confined to it).
        var statistics: CounterSnapshot { loop.queue.sync { counters.snapshot() } }
        let ended = Locked<Pump.End?>(nil)
        /// How many times `onEnd` ran (a pump reports once at most).
        let ends = Locked(0)

        /// `startNow: false` leaves the pump unstarted, so a test can fill the source first, then `start`.
        init(framing: Pump.Framing, halfClose: Bool = true, sinkBuffer: Int32? = nil, spliceAllowed: Bool = true,
             startNow: Bool = true) throws {
            let a = try RelayPumpTests.tcpPair()
            let b = try RelayPumpTests.tcpPair()
            if var size = sinkBuffer {
                setsockopt(b.proxySide, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            source = SocketChannel(socket: Socket(fd: a.proxySide), loop: loop)
            sink = SocketChannel(socket: Socket(fd: b.proxySide), loop: loop)
            clientPeer = BlockingSocket(fd: a.peer)
            upstreamPeer = BlockingSocket(fd: b.peer)
            pump = Pump(from: source, to: sink, loop: loop, framing: framing, counters: counters, direction: .up,
                        spliceAllowed: spliceAllowed, halfCloseOnEnd: halfClose)
            let ended = self.ended, ends = self.ends
            loop.queue.sync {
                pump.onEnd = { end in
                    ended.withLock { $0 = end }
                    ends.withLock { $0 += 1 }
                }
            }
            if startNow { start() }
        }

        func start(prime: [UInt8] = [], initial: [UInt8] = []) {
            loop.queue.sync { pump.start(prime: prime, initial: initial) }
        }

        /// Reads a pump property on its loop's queue.
        func onLoop<T>(_ body: (Pump) -> T) -> T {
            loop.queue.sync { body(pump) }
        }

        deinit {
            loop.queue.sync {
                pump.stop()
                source.close()
                sink.close()
            }
        }

        var end: Pump.End? { ended.value }
    }

    @Test("8 MiB through a small, slowly read sink: every byte in order (partial writes, back-pressure, then splice)")
    func backPressure() throws {
        let rig = try Rig(framing: .stream, sinkBuffer: 4096)
        let payload = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        let writer = Thread {
            try? rig.clientPeer.send(payload)
            rig.clientPeer.shutdownWrite()
        }
        writer.start()
        var received: [UInt8] = []
        received.reserveCapacity(payload.count)
        var reads = 0
        while true {
            let chunk: [UInt8]
            do { chunk = try rig.upstreamPeer.receive(max: 32768) } catch {
                let bytes = rig.loop.queue.sync { rig.pump.bytes }
                Issue.record("stalled after \(received.count) bytes received, pump moved \(bytes), end \(String(describing: rig.end))")
                return
            }
            if chunk.isEmpty { break }
            received += chunk
            reads += 1
            if reads % 64 == 0 { usleep(2_000) }   // a slow reader keeps the sink full
        }
        #expect(received.count == payload.count)
        #expect(received == payload)
        #expect(eventually(timeout: 5) { if case .sourceClosed = rig.end { return true } else { return false } })
        #expect(rig.pump.bytes == UInt64(payload.count))
    }

    @Test("end of stream on the source becomes a half-close toward the sink, which can still answer")
    func halfClose() throws {
        let rig = try Rig(framing: .stream)
        try rig.clientPeer.send("last words")
        rig.clientPeer.shutdownWrite()
        #expect(try rig.upstreamPeer.receiveAll().text == "last words")   // EOF arrives after the bytes
        #expect(eventually(timeout: 5) { if case .sourceClosed = rig.end { return true } else { return false } })
        // The other direction is untouched: the upstream peer can still write to the proxy side.
        try rig.upstreamPeer.send("reply")
    }

    @Test("a reset from the source side ends the pump as a reset of its source")
    func sourceReset() throws {
        let rig = try Rig(framing: .stream)
        try rig.clientPeer.send("x")
        _ = try rig.upstreamPeer.receive(exactly: 1)
        var value = linger(l_onoff: 1, l_linger: 0)
        setsockopt(rig.clientPeer.fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
        RelayPumpTests.resetKeepingNumber(rig.clientPeer.fd)
        #expect(eventually(timeout: 5) {
            if case .failed(.source, let failure) = rig.end { return failure.isReset || failure.message.contains("reset") }
            if case .sourceClosed = rig.end { return true }   // a shutdown may arrive as a FIN first
            return false
        }, "\(String(describing: rig.end))")
    }

    @Test("a reset from the sink side ends the pump as a reset of its sink")
    func sinkReset() throws {
        let rig = try Rig(framing: .stream)
        var value = linger(l_onoff: 1, l_linger: 0)
        setsockopt(rig.upstreamPeer.fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
        RelayPumpTests.resetKeepingNumber(rig.upstreamPeer.fd)
        // Keep writing until the pump meets the reset on a write.
        let deadline = Date().addingTimeInterval(5)
        while rig.end == nil && Date() < deadline {
            try? rig.clientPeer.send([UInt8](repeating: 0x41, count: 4096))
            usleep(5_000)
        }
        guard case .failed(.sink, let failure) = rig.end else { Issue.record("ended \(String(describing: rig.end))"); return }
        #expect(failure.isReset, "\(failure)")
    }

    @Test("a Content-Length body stops exactly at its end; the bytes behind it are left over", arguments: [1, 3, 64])
    func lengthBody(split: Int) throws {
        let rig = try Rig(framing: .length(10), halfClose: false)
        let bytes = Array("0123456789GET /next".utf8)
        for start in stride(from: 0, to: bytes.count, by: split) {
            try rig.clientPeer.send(Array(bytes[start..<min(bytes.count, start + split)]))
            usleep(1_000)
        }
        let got = try rig.upstreamPeer.receive(exactly: 10).text
        #expect(got == "0123456789", "got \(got.debugDescription), end \(String(describing: rig.end))")
        #expect(eventually(timeout: 5) { if case .complete = rig.end { return true } else { return false } })
        // What the pump read past the end comes back as leftover; the rest is still in the socket.
        guard case .complete(let leftover) = rig.end else { return }
        var rest = leftover
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(eventually(timeout: 5) {
            let more = rig.loop.queue.sync { buffer.withUnsafeMutableBytes { try? rig.source.read(into: $0) } } ?? nil
            rest += buffer[0..<(more ?? 0)]
            return rest.count >= 9
        })
        #expect(rest.text == "GET /next")
    }
}
