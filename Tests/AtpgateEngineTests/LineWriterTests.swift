import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine

@Suite("Access-log writer")
struct LineWriterTests {
    @Test("a reader that stalls never blocks the writer: lines beyond the buffer are dropped and counted")
    func stalledReaderDropsAndCounts() throws {
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let writer = LineWriter(fd: fds[1], maxBufferedBytes: 4096)
        defer {
            close(fds[0])       // the blocked write fails with EPIPE ...
            writer.stop()       // ... so the thread can end before its descriptor is closed
            close(fds[1])
        }
        let line = String(repeating: "a", count: 99) + "\n"
        let start = Date()
        for _ in 0..<5_000 { writer.write(line) }     // 500 KB into a 64 KiB pipe nobody reads
        #expect(Date().timeIntervalSince(start) < 5, "write() must not wait for the reader")
        #expect(writer.dropped > 0)
    }

    @Test("lines arrive whole and in order")
    func linesInOrder() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let writer = LineWriter(fd: fds[1])
        for index in 0..<1000 { writer.write("{\"n\":\(index)}\n") }
        writer.flush()
        writer.stop()
        close(fds[1])
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 1000)
        #expect(lines.enumerated().allSatisfy { $0.element == "{\"n\":\($0.offset)}" })
        #expect(writer.dropped == 0)
    }
}
