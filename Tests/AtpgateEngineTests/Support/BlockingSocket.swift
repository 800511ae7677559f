#if canImport(Glibc)
import Glibc
#endif
import Foundation
import AtpgateNet
@testable import AtpgateEngine
@testable import AtpgateIO

/// A blocking test socket with receive/send timeouts, so a broken proxy fails a test instead of hanging it.
final class BlockingSocket: @unchecked Sendable {
    let fd: Int32

    init(fd: Int32, timeout: Double = 10) {
        self.fd = fd
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    /// Connects to host:port (an IP literal; "::1" for IPv6).
    static func connect(_ host: String, _ port: UInt16, timeout: Double = 10) throws -> BlockingSocket {
        guard let ip = IPAddress(host) else { throw TestError("not an IP literal: \(host)") }
        let address = SocketAddress(ip: ip, port: port)
        let fd = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket: \(errno)") }
        let socket = BlockingSocket(fd: fd, timeout: timeout)
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        guard result == 0 else { throw TestError("connect \(address): errno \(errno)") }
        return socket
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestError("send: errno \(errno)") }
            offset += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Bytes read past a marker by `receive(until:)`, handed out first by the next read.
    private var unread: [UInt8] = []

    /// One read; empty at end of stream; throws on timeout or error.
    func receive(max: Int = 65536) throws -> [UInt8] {
        if !unread.isEmpty {
            let bytes = Array(unread.prefix(max))
            unread.removeFirst(bytes.count)
            return bytes
        }
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, max, 0) }
        guard n >= 0 else { throw TestError("recv: errno \(errno)") }
        return Array(buffer[0..<n])
    }

    /// Reads until end of stream.
    func receiveAll(limit: Int = 1 << 24) throws -> [UInt8] {
        var all: [UInt8] = []
        while all.count < limit {
            let chunk = try receive()
            if chunk.isEmpty { break }
            all += chunk
        }
        return all
    }

    /// Reads up to and including `marker` (e.g. the end of a head); later bytes stay for the next read.
    func receive(until marker: String) throws -> [UInt8] {
        let needle = Array(marker.utf8)
        var all: [UInt8] = []
        while all.firstRange(of: needle) == nil {
            let chunk = try receive()
            if chunk.isEmpty { return all }
            all += chunk
        }
        let end = all.firstRange(of: needle)!.upperBound
        unread = Array(all[end...]) + unread
        return Array(all[..<end])
    }

    /// Reads exactly `count` bytes (or fewer at end of stream).
    func receive(exactly count: Int) throws -> [UInt8] {
        var all: [UInt8] = []
        while all.count < count {
            let chunk = try receive(max: min(65536, count - all.count))
            if chunk.isEmpty { break }
            all += chunk
        }
        return all
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
