import Testing
import Foundation
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine
@testable import AtpgateIO

/// The pump's states on real loopback TCP pairs (`RelayPumpTests.Rig`): bytes kept after a partial write
/// (copying, at the start behind a prime, dechunked in many runs), chunked and dechunked bodies that stop
/// exactly at their end and hand back what follows, and `stop()` while bytes wait for the sink.
@Suite("Relay pump states on socket pairs")
struct RelayPumpStateTests {
    typealias Rig = RelayPumpTests.Rig

    static let behind = Array("GET /next".utf8)

    @Test("copy only: partial writes to a full sink keep every byte in order; the buffer goes once the sink catches up")
    func copyPartialWrites() throws {
        let rig = try Rig(framing: .stream, sinkBuffer: 4096, spliceAllowed: false)
        var generator = PayloadGenerator(seed: 7)
        let payload = generator.next(4 << 20)
        let writer = Thread { try? rig.clientPeer.send(payload) }
        writer.start()
        // Nobody reads the upstream peer yet: the sink fills and the pump keeps the rest of a read.
        #expect(eventually(timeout: 5) { rig.onLoop { $0.bytesWaiting > 0 } })
        #expect(rig.onLoop { !$0.isSplicing && !$0.isFinished })
        let received = try Self.receiveSlowly(rig.upstreamPeer, count: payload.count)
        #expect(received.count == payload.count)
        #expect(received == payload)
        // Caught up, with the source still open: reading again, no buffer held.
        #expect(eventually(timeout: 5) { rig.onLoop { $0.bytesWaiting == 0 && !$0.isFinished } })
        rig.clientPeer.shutdownWrite()
        #expect(try rig.upstreamPeer.receive().isEmpty)
        #expect(eventually(timeout: 5) { if case .sourceClosed = rig.end { true } else { false } })
        #expect(rig.onLoop { $0.bytes } == UInt64(payload.count))
        #expect(rig.statistics.bytesCopied == payload.count)
        #expect(rig.statistics.bytesSpliced == 0 && rig.statistics.pipesCreated == 0)
    }

    @Test("a prime larger than the sink takes waits in the pump with the body behind it; then the message completes")
    func primeLargerThanSink() throws {
        let rig = try Rig(framing: .length(10), halfClose: false, sinkBuffer: 4096, startNow: false)
        var generator = PayloadGenerator(seed: 3)
        let prime = generator.next(2 << 20)
        rig.start(prime: prime, initial: Array("0123456789".utf8) + Self.behind)
        #expect(rig.onLoop { $0.bytesWaiting > 0 && !$0.isFinished }, "the sink took all of 2 MiB at once")
        #expect(rig.end == nil)
        let got = try Self.receiveSlowly(rig.upstreamPeer, count: prime.count + 10)
        #expect(got == prime + Array("0123456789".utf8))
        #expect(eventually(timeout: 5) { if case .complete = rig.end { true } else { false } })
        guard case .complete(let leftover) = rig.end else { return }
        #expect(leftover == Self.behind)
        #expect(rig.onLoop { $0.bytes } == 10, "the prime is not body")
        #expect(Self.receiveNow(rig.upstreamPeer.fd).isEmpty, "nothing past the body")
    }

    static let chunkedBody = Array("5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n".utf8)
    static let chunkData = Array("helloabcdefghijklmnopqrstuvwxyz".utf8)

    @Test("a chunked body stops exactly after its trailers; dechunked, only its data goes on; what follows is handed back",
          arguments: [Pump.Framing.chunked, .dechunk], [1, 5, 4096])
    func chunkedBody(framing: Pump.Framing, split: Int) throws {
        let rig = try Rig(framing: framing, halfClose: false)
        let bytes = Self.chunkedBody + Self.behind
        for start in stride(from: 0, to: bytes.count, by: split) {
            try rig.clientPeer.send(Array(bytes[start..<min(bytes.count, start + split)]))
            usleep(1_000)
        }
        let expected = framing == .chunked ? Self.chunkedBody : Self.chunkData
        let got = try rig.upstreamPeer.receive(exactly: expected.count)
        #expect(got == expected, "got \(got.text.debugDescription), end \(String(describing: rig.end))")
        #expect(eventually(timeout: 5) { if case .complete = rig.end { true } else { false } })
        guard case .complete(let leftover) = rig.end else { return }
        #expect(Self.rest(of: rig, after: leftover) == Self.behind)
        #expect(rig.onLoop { $0.bytes } == UInt64(expected.count))
        #expect(Self.receiveNow(rig.upstreamPeer.fd).isEmpty, "nothing past the body")
    }

    @Test("2 MiB in small chunks through a small, slowly read sink: every byte in order, no splice, the rest handed back",
          arguments: [Pump.Framing.chunked, .dechunk])
    func bigChunkedBody(framing: Pump.Framing) throws {
        let rig = try Rig(framing: framing, halfClose: false, sinkBuffer: 4096, spliceAllowed: true)
        var generator = PayloadGenerator(seed: 11)
        var data: [UInt8] = []
        var encoded: [UInt8] = []
        var size = 1
        while data.count < 2 << 20 {
            size = size * 7919 % 5003 + 1   // 1...5003: many runs per read, some split by a partial write
            let chunk = generator.next(size + 8).prefix(size)
            data += chunk
            encoded += Array("\(String(size, radix: 16))\r\n".utf8) + chunk + [13, 10]
        }
        encoded += Array("0\r\n\r\n".utf8)
        let input = encoded + Self.behind
        let writer = Thread { try? rig.clientPeer.send(input) }
        writer.start()
        let expected = framing == .chunked ? encoded : data
        let got = try Self.receiveSlowly(rig.upstreamPeer, count: expected.count)
        #expect(got.count == expected.count)
        #expect(got == expected)
        #expect(eventually(timeout: 5) { if case .complete = rig.end { true } else { false } })
        guard case .complete(let leftover) = rig.end else { return }
        #expect(Self.rest(of: rig, after: leftover) == Self.behind)
        #expect(rig.statistics.pipesCreated == 0, "a framed body is never spliced")
        #expect(rig.onLoop { $0.bytes } == UInt64(expected.count))
    }

    @Test("a malformed chunked body, or one cut short, fails on the source side", arguments: [
        ("5\r\nhello\r\nzz\r\n", "invalid chunked body"),
        ("5\r\nhel", "closed before the end of the body"),
    ])
    func badChunkedBody(body: String, reason: String) throws {
        let rig = try Rig(framing: .dechunk, halfClose: false)
        try rig.clientPeer.send(body)
        rig.clientPeer.shutdownWrite()
        #expect(eventually(timeout: 5) { rig.end != nil })
        guard case .failed(.source, let failure) = rig.end else {
            Issue.record("ended \(String(describing: rig.end))")
            return
        }
        #expect(failure.message.contains(reason), "\(failure)")
    }

    @Test("stop() while bytes wait for the sink: no report, nothing written or read after it, nothing kept, freed",
          arguments: [false, true])
    func stopDuringPartialWrite(splice: Bool) throws {
        weak var weakPump: Pump?
        let loop: IOLoop
        do {
            let rig = try Rig(framing: .stream, sinkBuffer: 4096, spliceAllowed: splice, startNow: false)
            loop = rig.loop
            weakPump = rig.pump
            var generator = PayloadGenerator(seed: 5)
            let chunk = generator.next(64 << 10)
            // Bytes wait in the source before it starts, so its first read fills the scratch buffer
            // (the switch to splice, when allowed).
            #expect(Self.fillSource(rig) { _ = Self.sendNow(rig.clientPeer.fd, chunk) })
            rig.start()
            #expect(eventually(timeout: 5) {
                _ = Self.sendNow(rig.clientPeer.fd, chunk)
                return rig.onLoop { $0.bytesWaiting > 0 && $0.isSplicing == splice }
            }, "never waited for the sink \(splice ? "with bytes in the pipe" : "with a partial write")")
            let (moved, waiting) = rig.onLoop { pump in
                defer { pump.stop() }
                return (pump.bytes, pump.bytesWaiting)
            }
            #expect(rig.onLoop { $0.isFinished && $0.bytesWaiting == 0 && !$0.isSplicing })
            // What reached the sink before the stop arrives; what waited in the pump never does.
            let received = Self.receiveUntilQuiet(rig.upstreamPeer.fd)
            #expect(UInt64(received) + UInt64(waiting) == moved)
            // The source is not read any more, and the end is never reported.
            _ = Self.sendNow(rig.clientPeer.fd, chunk)
            rig.clientPeer.shutdownWrite()
            usleep(100_000)
            #expect(rig.onLoop { $0.bytes } == moved)
            #expect(rig.ends.value == 0 && rig.end == nil)
        }
        loop.queue.sync {}
        #expect(weakPump == nil, "the stopped pump is still referenced")
    }

    @Test("bytes handed back to the source while it splices are read and copied, in their place in the stream")
    func unreadWhileSplicing() throws {
        let rig = try Rig(framing: .stream, sinkBuffer: 4096, startNow: false)
        var generator = PayloadGenerator(seed: 13)
        let payload = generator.next(8 << 20)
        var sent = 0
        let feed = { sent += Self.sendNow(rig.clientPeer.fd, Array(payload[sent..<min(payload.count, sent + (64 << 10))])) }
        #expect(Self.fillSource(rig, feed: feed))
        rig.start()
        // Splicing, and waiting for the sink: the source is not being read right now.
        #expect(eventually(timeout: 5) {
            feed()
            return rig.onLoop { $0.isSplicing && $0.bytesWaiting > 0 }
        })
        let marker = Array("--handed back--".utf8)
        let readSoFar = rig.onLoop { pump in
            pump.source.unread(marker)
            return Int(pump.bytes)
        }
        let remaining = Array(payload[sent...])
        let writer = Thread {
            try? rig.clientPeer.send(remaining)
            rig.clientPeer.shutdownWrite()
        }
        writer.start()
        let expected = Array(payload[0..<readSoFar]) + marker + Array(payload[readSoFar...])
        let got = try Self.receiveSlowly(rig.upstreamPeer, count: expected.count)
        #expect(got.count == expected.count)
        #expect(got == expected)
        #expect(eventually(timeout: 5) { if case .sourceClosed = rig.end { true } else { false } })
        #expect(rig.statistics.pipesCreated >= 1)
    }

    // MARK: Helpers

    /// Reads `count` bytes, pausing now and then so that the sink stays full.
    static func receiveSlowly(_ peer: BlockingSocket, count: Int) throws -> [UInt8] {
        var received: [UInt8] = []
        received.reserveCapacity(count)
        var reads = 0
        while received.count < count {
            let chunk = try peer.receive(max: min(16384, count - received.count))
            if chunk.isEmpty { break }
            received += chunk
            reads += 1
            if reads % 32 == 0 { usleep(2_000) }
        }
        return received
    }

    /// Sends what the socket takes without blocking: how many bytes.
    static func sendNow(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        return max(n, 0)
    }

    /// Runs `feed` (sends without blocking) until the pump's source holds a scratch buffer's worth.
    static func fillSource(_ rig: Rig, feed: () -> Void) -> Bool {
        var peek = [UInt8](repeating: 0, count: IOLoop.scratchSize)
        return eventually(timeout: 5) {
            feed()
            let held = peek.withUnsafeMutableBytes {
                Glibc.recv(rig.source.socket.fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT))
            }
            return held == IOLoop.scratchSize
        }
    }

    /// What the socket holds now, without blocking.
    static func receiveNow(_ fd: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return n > 0 ? Array(buffer[0..<n]) : []
    }

    /// Reads until nothing has arrived for 300 ms: how many bytes.
    static func receiveUntilQuiet(_ fd: Int32) -> Int {
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 300) == 1 else { return total }
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n > 0 else { return total }
            total += n
        }
    }

    /// The bytes behind a message: what the pump handed back, then what it left in the source.
    static func rest(of rig: Rig, after leftover: [UInt8]) -> [UInt8] {
        var rest = leftover
        var buffer = [UInt8](repeating: 0, count: 64)
        _ = eventually(timeout: 5) {
            let more = rig.loop.queue.sync { buffer.withUnsafeMutableBytes { try? rig.source.read(into: $0) } } ?? nil
            rest += buffer[0..<(more ?? 0)]
            return rest.count >= behind.count
        }
        return rest
    }
}
