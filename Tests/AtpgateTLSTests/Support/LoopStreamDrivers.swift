#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO

/// Reads a stream to its end on its loop, at most `chunk` bytes a read, keeping what it read. Create and
/// start it on the loop's queue; read `state` from anywhere.
final class LoopReader: @unchecked Sendable {
    struct State {
        var bytes: [UInt8] = []
        var ended = false
        var error: SocketError?
    }

    let state = Locked(State())
    private let stream: ByteStream      // used on the loop's queue only
    private let chunk: Int

    init(_ stream: ByteStream, chunk: Int) {
        self.stream = stream
        self.chunk = chunk
    }

    func start() {
        stream.setReadHandler { [self] in drain() }
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let count: Int?
            do {
                count = try buffer.withUnsafeMutableBytes { raw in try stream.read(into: raw) }
            } catch {
                state.withLock { $0.error = error as? SocketError ?? SocketError("read", errno: EIO) }
                stream.pauseReading()
                return
            }
            guard let count else { return }
            if count == 0 {
                state.withLock { $0.ended = true }
                stream.pauseReading()
                return
            }
            state.withLock { $0.bytes += buffer[0..<count] }
        }
    }
}

/// Writes `bytes` into a stream on its loop, `chunk` bytes a call, waiting with `awaitWritable` when it
/// takes nothing; then half-closes if asked. Create and start it on the loop's queue.
final class LoopWriter: @unchecked Sendable {
    struct State {
        var written = 0
        var wouldBlockCount = 0
        var resumedAfterWait = 0
        var done = false
        var error: SocketError?
    }

    let state = Locked(State())
    private let stream: ByteStream
    private let bytes: [UInt8]
    private let chunk: Int
    private let shutdownWhenDone: Bool
    private var offset = 0              // loop's queue only
    /// While false, the writer stops at the first nil and does not wait (`resumeWaiting` carries on).
    private var waitWhenBlocked: Bool   // loop's queue only

    init(_ stream: ByteStream, bytes: [UInt8], chunk: Int, shutdownWhenDone: Bool, waitWhenBlocked: Bool = true) {
        self.stream = stream
        self.bytes = bytes
        self.chunk = chunk
        self.shutdownWhenDone = shutdownWhenDone
        self.waitWhenBlocked = waitWhenBlocked
    }

    func start() {
        pump()
    }

    /// After a stop at nil: waits for room, and from now on whenever the stream takes nothing.
    func resumeWaiting() {
        waitWhenBlocked = true
        waitForRoom()
    }

    private func waitForRoom() {
        stream.awaitWritable { [self] in
            stream.stopAwaitingWritable()
            state.withLock { $0.resumedAfterWait += 1 }
            pump()
        }
    }

    private func pump() {
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            let count: Int?
            do {
                count = try bytes[offset..<end].withUnsafeBytes { raw in try stream.write(raw) }
            } catch {
                state.withLock { $0.error = error as? SocketError ?? SocketError("write", errno: EIO) }
                return
            }
            guard let count else {
                state.withLock { $0.wouldBlockCount += 1 }
                if waitWhenBlocked { waitForRoom() }
                return
            }
            offset += count
            state.withLock { $0.written = offset }
        }
        state.withLock { $0.done = true }
        if shutdownWhenDone { stream.shutdownWrite() }
    }
}

/// Writes back everything a stream reads, `chunk` bytes a read, pausing its reading while a write waits;
/// after `expected` bytes have gone back, half-closes (close_notify). Create and start it on the loop's queue.
final class LoopEcho: @unchecked Sendable {
    struct State {
        var echoed = 0
        var ended = false
        var error: SocketError?
    }

    let state = Locked(State())
    private let stream: ByteStream
    private let chunk: Int
    private let expected: Int
    private var waiting: [UInt8] = []   // read, not yet written back (loop's queue only)

    init(_ stream: ByteStream, chunk: Int, expected: Int) {
        self.stream = stream
        self.chunk = chunk
        self.expected = expected
    }

    func start() {
        stream.setReadHandler { [self] in readable() }
    }

    private func readable() {
        var buffer = [UInt8](repeating: 0, count: chunk)
        while waiting.isEmpty {
            let count: Int?
            do {
                count = try buffer.withUnsafeMutableBytes { raw in try stream.read(into: raw) }
            } catch {
                fail(error)
                return
            }
            guard let count else { return }
            if count == 0 {
                state.withLock { $0.ended = true }
                stream.pauseReading()
                return
            }
            waiting = Array(buffer[0..<count])
            guard writeWaiting() else { return }
        }
    }

    /// Writes what waits; false when the stream must drain first (reading is paused until it has).
    private func writeWaiting() -> Bool {
        while !waiting.isEmpty {
            let count: Int?
            do {
                count = try waiting.withUnsafeBytes { raw in try stream.write(raw) }
            } catch {
                fail(error)
                return false
            }
            guard let count else {
                stream.pauseReading()
                stream.awaitWritable { [self] in
                    guard writeWaiting() else { return }
                    stream.stopAwaitingWritable()
                    stream.resumeReading()
                }
                return false
            }
            waiting.removeFirst(count)
            let echoed = state.withLock { $0.echoed += count; return $0.echoed }
            if echoed == expected { stream.shutdownWrite() }
        }
        return true
    }

    private func fail(_ error: any Error) {
        state.withLock { $0.error = error as? SocketError ?? SocketError("echo", errno: EIO) }
        stream.pauseReading()
    }
}
