import Testing
import Foundation
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateIO

/// The readiness layer on socketpairs: one edge-triggered epoll set per loop under one Dispatch source.
/// Edge-triggered readiness reports a change once; these pin the rules that keep a wake-up from being lost.
@Suite("Readiness: one epoll set per loop")
struct ReadinessTests {
    /// A nonblocking stream socketpair: `channel` on the loop owns one end, the test writes to `peer`.
    final class Pair: @unchecked Sendable {
        let loop = IOLoop(label: "test.readiness")
        let channel: SocketChannel
        let peer: Int32
        let events = Locked<[String]>([])

        init() throws {
            (channel, peer) = try channelPair(on: loop)
        }

        deinit {
            loop.queue.sync { channel.close() }
            Glibc.close(peer)
        }

        func send(_ text: String) {
            _ = text.withCString { Glibc.write(peer, $0, strlen($0)) }
        }

        func onLoop(_ body: () -> Void) { loop.queue.sync(execute: body) }

        /// Reads up to `limit` bytes per call of the handler (Int.max: until the socket would block).
        func readHandler(limit: Int = .max, pauseAfter: Bool = false) -> () -> Void {
            { [self] in
                var got = ""
                var buffer = [UInt8](repeating: 0, count: 1)
                while got.utf8.count < limit {
                    let n = buffer.withUnsafeMutableBytes { raw in try? channel.read(into: raw) }
                    guard let count = n ?? nil, count > 0 else { break }
                    got += String(decoding: buffer[0..<count], as: UTF8.self)
                }
                events.withLock { $0.append("read:\(got)") }
                if pauseAfter { channel.pauseReading() }
            }
        }

        var log: [String] { events.value }
    }

    @Test("an edge that arrives while reading is paused is delivered on resume")
    func edgeWhilePaused() throws {
        let pair = try Pair()
        pair.onLoop { pair.channel.setReadHandler(pair.readHandler()) }
        pair.onLoop { pair.channel.pauseReading() }
        pair.send("abc")
        usleep(100_000)
        #expect(pair.log.isEmpty, "a paused channel ran its handler: \(pair.log)")
        pair.onLoop { pair.channel.resumeReading() }
        #expect(eventually(timeout: 5) { pair.log == ["read:abc"] }, "\(pair.log)")
    }

    @Test("a handler that stops before the socket would block is called again when reading resumes, with no new edge")
    func handlerStopsEarly() throws {
        let pair = try Pair()
        pair.onLoop { pair.channel.setReadHandler(pair.readHandler(limit: 1, pauseAfter: true)) }
        pair.send("xyz")   // one edge for all three bytes
        #expect(eventually(timeout: 5) { pair.log == ["read:x"] }, "\(pair.log)")
        for _ in 0..<2 { pair.onLoop { pair.channel.resumeReading() }; usleep(50_000) }
        #expect(eventually(timeout: 5) { pair.log == ["read:x", "read:y", "read:z"] }, "\(pair.log)")
    }

    @Test("waiting for writability after the kernel already reported it still runs the handler")
    func lateWriteInterest() throws {
        let pair = try Pair()
        let written = Locked(0)
        pair.onLoop {
            pair.channel.setReadHandler {}
            // Fill the socket until a write would block.
            let chunk = [UInt8](repeating: 0x61, count: 65536)
            while let n = chunk.withUnsafeBytes({ try? pair.channel.socket.write($0) }) ?? nil { written.withLock { $0 += n } }
        }
        // The peer drains everything: the kernel reports writable now, before anyone waits for it.
        var sink = [UInt8](repeating: 0, count: 65536)
        var drained = 0
        while drained < written.value {
            let n = Glibc.read(pair.peer, &sink, sink.count)
            if n <= 0 { break }
            drained += n
        }
        usleep(100_000)   // the edge is handed to the channel with no waiter
        pair.onLoop { pair.channel.awaitWritable { pair.events.withLock { $0.append("writable") }; pair.channel.stopAwaitingWritable() } }
        #expect(eventually(timeout: 5) { pair.log == ["writable"] }, "\(pair.log)")
    }

    @Test("end of stream arrives as readiness, and a closed channel leaves the poll set")
    func endOfStreamAndClose() throws {
        let pair = try Pair()
        pair.onLoop { pair.channel.setReadHandler(pair.readHandler()) }
        #expect(pair.loop.queue.sync { pair.loop.pollSet.count } == 1)
        pair.send("bye")
        shutdown(pair.peer, Int32(SHUT_WR))
        #expect(eventually(timeout: 5) { pair.log.joined() == "read:bye" || pair.log.contains("read:bye") })
        pair.onLoop { pair.channel.close() }
        #expect(pair.loop.queue.sync { pair.loop.pollSet.count } == 0)
    }

    /// Other suites open descriptors in parallel, so the freed number is not always the next one handed
    /// out: the scenario is retried until the kernel gives the old number to the new socket.
    @Test("a descriptor number reused after close never reaches the old channel")
    func reusedDescriptor() throws {
        let loop = IOLoop(label: "test.reuse")
        let hits = Locked<[String]>([])
        for _ in 0..<200 {
            var first: [Int32] = [0, 0], second: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &first) == 0 else { throw TestError("socketpair") }
            let old = SocketChannel(socket: Socket(fd: first[0]), loop: loop)
            loop.queue.sync {
                old.setReadHandler { hits.withLock { $0.append("old") } }
                old.close()
            }
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &second) == 0 else { throw TestError("socketpair") }
            guard second.contains(first[0]) else {
                Glibc.close(first[1]); Glibc.close(second[0]); Glibc.close(second[1])
                continue
            }
            let reusedEnd = first[0]
            let otherEnd = second[0] == reusedEnd ? second[1] : second[0]
            _ = fcntl(reusedEnd, F_SETFL, fcntl(reusedEnd, F_GETFL) | O_NONBLOCK)
            let fresh = SocketChannel(socket: Socket(fd: reusedEnd), loop: loop)
            loop.queue.sync {
                fresh.setReadHandler {
                    var byte: UInt8 = 0
                    while true {
                        let count = withUnsafeMutableBytes(of: &byte) { try? fresh.read(into: $0) }
                        guard let read = count ?? nil, read > 0 else { break }
                    }
                    hits.withLock { $0.append("new") }
                }
            }
            _ = Glibc.write(otherEnd, "x", 1)
            #expect(eventually(timeout: 5) { hits.value.contains("new") })
            #expect(!hits.value.contains("old"))
            loop.queue.sync { fresh.close() }
            Glibc.close(first[1]); Glibc.close(otherEnd)
            return
        }
        Issue.record("the kernel never handed the freed number to the next socket in 200 tries")
    }

    /// Descriptors are counted by the child-process tests (other suites open sockets concurrently here).
    @Test("10,000 channels registered and closed on one loop: the poll set ends empty")
    func churn() throws {
        let loop = IOLoop(label: "test.churn")
        for _ in 0..<5_000 {
            var fds: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw TestError("socketpair") }
            let a = SocketChannel(socket: Socket(fd: fds[0]), loop: loop)
            let b = SocketChannel(socket: Socket(fd: fds[1]), loop: loop)
            loop.queue.sync {
                a.setReadHandler {}
                b.setReadHandler {}
                a.close()
                b.close()
            }
        }
        #expect(loop.queue.sync { loop.pollSet.count } == 0)
    }
}

@Suite("Byte stream: bytes handed back")
struct HandedBackTests {
    @Test("bytes given to unread come back first, then the socket's; the descriptor is not spliced meanwhile")
    func unreadFirst() throws {
        let pair = try ReadinessTests.Pair()
        pair.onLoop {
            pair.channel.unread(Array("first-".utf8))
            #expect(pair.channel.spliceDescriptor == nil)
        }
        pair.send("then-socket")
        pair.onLoop { pair.channel.setReadHandler(pair.readHandler()) }
        #expect(eventually(timeout: 5) { pair.log.joined().hasPrefix("read:first-") && pair.log.joined().contains("then-socket") },
                "\(pair.log)")
        pair.onLoop { #expect(pair.channel.spliceDescriptor != nil) }
    }

    @Test("handed-back bytes are delivered on resume with no socket event at all")
    func unreadWithoutEvent() throws {
        let pair = try ReadinessTests.Pair()
        pair.onLoop {
            pair.channel.setReadHandler(pair.readHandler())
            pair.channel.pauseReading()
            pair.channel.unread(Array("hello".utf8))
            pair.channel.resumeReading()
        }
        #expect(eventually(timeout: 5) { pair.log.contains("read:hello") }, "\(pair.log)")
    }
}
