#if canImport(Glibc)
import Glibc
#endif
import Testing
import AtpgateIO
@testable import AtpgateTLS

/// Our own server and client streams against each other over loopback TCP: the `ByteStream` contract
/// where a peer process could not be steered (a peer that does not read, a reader that pauses).
@Suite("TLS stream: ByteStream contract")
struct TLSStreamPairTests {
    @Test("write back-pressure: a peer that does not read makes write return nil; once it reads, the wait ends and all arrives")
    func writeBackPressure() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let pair = try LoopTLSPair.make(harness, certificates, bufferSize: 32 * 1024)
        defer { pair.close(on: harness) }
        let payload = loopRandomBytes(4 << 20)
        let writer = LoopWriter(pair.server, bytes: payload, chunk: 64 * 1024, shutdownWhenDone: true, waitWhenBlocked: false)
        harness.onLoop { writer.start() }
        #expect(loopEventually { writer.state.value.wouldBlockCount == 1 })
        let stalled = writer.state.value.written
        #expect(stalled > 0 && stalled < payload.count)
        // Nobody reads: it stays stalled.
        usleep(100_000)
        #expect(writer.state.value.written == stalled)

        let reader = LoopReader(pair.client, chunk: 4096)
        harness.onLoop {
            writer.resumeWaiting()
            reader.start()
        }
        #expect(loopEventually(timeout: 60) { reader.state.value.ended || reader.state.value.error != nil })
        #expect(writer.state.value.done)
        #expect(writer.state.value.resumedAfterWait >= 1)
        #expect(reader.state.value.error == nil)
        #expect(reader.state.value.bytes.count == payload.count)
        #expect(reader.state.value.bytes == payload)
        #expect(harness.onLoop { pair.client.receivedCloseNotify })
    }

    @Test("plaintext the SSL holds is delivered on resume without a kernel event; bytes handed back come first")
    func heldInputIsDelivered() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let pair = try LoopTLSPair.make(harness, certificates)
        defer { pair.close(on: harness) }
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }   // one record
        let calls = Locked(0)
        let received = Locked<[UInt8]>([])
        harness.onLoop {
            pair.client.send(payload) { _ in }
            // Reads 100 bytes a call, then pauses: the rest waits in the SSL, announced by no event. (A call
            // that finds nothing yet waits for the bytes' edge.)
            pair.server.setReadHandler {
                var buffer = [UInt8](repeating: 0, count: 100)
                guard let count = try? buffer.withUnsafeMutableBytes({ try pair.server.read(into: $0) }), count > 0 else { return }
                calls.withLock { $0 += 1 }
                received.withLock { $0 += buffer[0..<count] }
                pair.server.pauseReading()
            }
        }
        for round in 1...5 {
            #expect(loopEventually { calls.value == round })
            harness.onLoop { pair.server.resumeReading() }
        }
        #expect(loopEventually { calls.value == 6 })
        #expect(received.value == Array(payload[0..<600]))

        // Handed back: first, then the stream's own bytes.
        harness.onLoop {
            pair.server.unread([1, 2, 3])
            pair.server.resumeReading()
        }
        #expect(loopEventually { calls.value == 7 })
        #expect(received.value == Array(payload[0..<600]) + [1, 2, 3])
        harness.onLoop { pair.server.resumeReading() }
        #expect(loopEventually { calls.value == 8 })
        #expect(received.value == Array(payload[0..<600]) + [1, 2, 3] + Array(payload[600..<700]))
    }

    @Test("shutdownWrite sends close_notify: the peer reads 0, and can still write back")
    func halfClose() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let pair = try LoopTLSPair.make(harness, certificates)
        defer { pair.close(on: harness) }
        let serverReader = LoopReader(pair.server, chunk: 1024)
        let clientReader = LoopReader(pair.client, chunk: 1024)
        harness.onLoop {
            serverReader.start()
            clientReader.start()
            pair.client.send(Array("request".utf8)) { _ in pair.client.shutdownWrite() }
        }
        #expect(loopEventually { serverReader.state.value.ended })
        #expect(serverReader.state.value.bytes == Array("request".utf8))
        #expect(harness.onLoop { pair.server.receivedCloseNotify })
        harness.onLoop { pair.server.send(Array("answer".utf8)) { _ in pair.server.shutdownWrite() } }
        #expect(loopEventually { clientReader.state.value.ended })
        #expect(clientReader.state.value.bytes == Array("answer".utf8))
        #expect(clientReader.state.value.error == nil)
    }

    @Test("a TCP end without close_notify reads as 0 and is reported as such")
    func endWithoutCloseNotify() throws {
        let harness = LoopHarness()
        let certificates = try TLSPeerCertificates()
        let pair = try LoopTLSPair.make(harness, certificates)
        defer { pair.close(on: harness) }
        let reader = LoopReader(pair.client, chunk: 1024)
        harness.onLoop {
            reader.start()
            pair.server.send(Array("partial".utf8)) { _ in pair.server.transport.shutdownWrite() }   // below TLS
        }
        #expect(loopEventually { reader.state.value.ended || reader.state.value.error != nil })
        #expect(reader.state.value.error == nil)
        #expect(reader.state.value.bytes == Array("partial".utf8))
        let ends = harness.onLoop { (pair.client.receivedCloseNotify, pair.client.endedWithoutCloseNotify) }
        #expect(ends == (false, true))
        // The write side still works after the peer's end (a half-close).
        let after = harness.onLoop { try? Array("more".utf8).withUnsafeBytes { try pair.client.write($0) } }
        #expect(after == 4)
    }
}
