#if canImport(Glibc)
import Glibc
#endif

/// A failure in the load generator: a system call (with errno) or a protocol surprise.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    static func sys(_ what: String, _ code: Int32 = errno) -> BenchError {
        BenchError(description: "\(what): \(String(cString: strerror(code)))")
    }
    static func proto(_ what: String) -> BenchError { BenchError(description: what) }
    static let eofBeforeHead = "EOF before the end of a head"
}

/// Monotonic nanoseconds.
func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func sleepSeconds(_ seconds: Double) {
    usleep(useconds_t(max(0, seconds) * 1_000_000))
}

/// An IPv4 host:port (loopback only in practice).
struct Endpoint: Sendable, CustomStringConvertible {
    let host: String
    let port: UInt16

    init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        let host = String(text[..<colon])
        var probe = in_addr()
        guard inet_pton(AF_INET, host, &probe) == 1 else { return nil }
        self.init(host: host, port: port)
    }

    var description: String { "\(host):\(port)" }

    func sockaddr() -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, host, &address.sin_addr)
        return address
    }
}

enum Sock {
    static let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)

    /// Blocking connect with send/receive timeouts, so no read or write blocks forever.
    static func connect(_ endpoint: Endpoint, timeoutSeconds: Int = 10) throws(BenchError) -> Int32 {
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw .sys("socket") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = endpoint.sockaddr()
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let code = errno
            Glibc.close(fd)
            throw .sys("connect \(endpoint)", code)
        }
        return fd
    }

    /// A listening socket; `port` 0 picks a free one (see `localPort`).
    static func listen(_ endpoint: Endpoint, nonBlocking: Bool) throws(BenchError) -> Int32 {
        let fd = socket(AF_INET, streamType | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0), 0)
        guard fd >= 0 else { throw .sys("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = endpoint.sockaddr()
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .sys("bind \(endpoint)", code)
        }
        guard Glibc.listen(fd, 4096) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .sys("listen \(endpoint)", code)
        }
        return fd
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes with an RST (SO_LINGER 0): leaves no TIME_WAIT behind, for mass teardown.
    static func closeReset(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) throws(BenchError) {
        var done = 0
        while done < count {
            let n = send(fd, base + done, count - done, Int32(MSG_NOSIGNAL))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw .sys("write")
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(BenchError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(BenchError) in try writeAll(fd, raw.baseAddress!, raw.count) }
        }
        try result.get()
    }

    static func writeAll(_ fd: Int32, _ text: String) throws(BenchError) {
        try writeAll(fd, Array(text.utf8))
    }
}

/// A buffered reader over a blocking socket: HTTP heads, exact counts, EOF.
final class Reader {
    let fd: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0

    init(fd: Int32, capacity: Int = 16384) {
        self.fd = fd
        self.buffer = [UInt8](repeating: 0, count: capacity)
    }

    var buffered: Int { end - start }

    /// One recv into the buffer; returns the count (0 at EOF).
    private func fill() throws(BenchError) -> Int {
        if start == end { start = 0; end = 0 }
        if end == buffer.count {
            if start > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start)
                }
                end -= start
                start = 0
            } else {
                buffer += [UInt8](repeating: 0, count: buffer.count)
            }
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress! + end, raw.count - end, 0) }
            if n >= 0 { end += n; return n }
            if errno == EINTR { continue }
            throw .sys(errno == EAGAIN ? "read timed out" : "read")
        }
    }

    /// The bytes up to and including CRLFCRLF (at most 64 KiB).
    func readHead() throws(BenchError) -> [UInt8] {
        var searched = 0   // bytes after `start` already scanned (fill keeps that relation)
        while true {
            var index = start + max(0, searched - 3)
            while index + 3 < end {
                if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                    let head = Array(buffer[start..<(index + 4)])
                    start = index + 4
                    return head
                }
                index += 1
            }
            searched = end - start
            guard searched < 65536 else { throw .proto("response head too large") }
            if try fill() == 0 { throw .proto(BenchError.eofBeforeHead) }
        }
    }

    /// Consumes exactly `count` bytes (discarding them).
    func skip(_ count: Int) throws(BenchError) {
        var left = count
        while left > 0 {
            if start == end, try fill() == 0 { throw .proto("EOF with \(left) bytes still expected") }
            let take = min(left, end - start)
            start += take
            left -= take
        }
    }

    /// Reads until EOF, bounded; returns the number of bytes that were still there.
    func drainToEOF(limit: Int = 1 << 20) throws(BenchError) -> Int {
        var extra = end - start
        start = end
        while extra <= limit {
            let n = try fill()
            if n == 0 { return extra }
            extra += n
            start = end
        }
        return extra
    }
}

/// Status code of an HTTP response head ("HTTP/1.1 200 ..." → 200), or nil.
func statusCode(_ head: [UInt8]) -> Int? {
    guard head.count >= 12, head.starts(with: Array("HTTP/1.".utf8)) else { return nil }
    return Int(String(decoding: head[9..<12], as: UTF8.self))
}

/// Case-insensitive header lookup in a raw head; the first value, trimmed.
func headerValue(_ head: [UInt8], _ name: String) -> String? {
    let text = String(decoding: head, as: UTF8.self)
    let wanted = name.lowercased() + ":"
    for line in text.split(separator: "\r\n").dropFirst() {
        let lower = line.lowercased()
        if lower.hasPrefix(wanted) {
            return String(lower.dropFirst(wanted.count)).trimmingCharacters(in: [" ", "\t"])
        }
    }
    return nil
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// A thread that can be joined. The body runs on its own pthread with a small stack.
struct JoinableThread {
    private final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    private let id: pthread_t

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 1 << 20)
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { argument in
            Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box)
        pthread_attr_destroy(&attributes)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        id = thread
    }

    func join() {
        pthread_join(id, nil)
    }
}

/// A mutex-protected value shared between generator threads.
final class Shared<Value>: @unchecked Sendable {
    private var value: Value
    private var mutex = pthread_mutex_t()

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    func with<T>(_ body: (inout Value) -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body(&value)
    }
}

/// What /proc says about a process: CPU seconds (utime + stime), RSS, open descriptors.
enum ProcStat {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }

    static func rssKiB(_ pid: Int32) -> Double? {
        guard let text = readText("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Double(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    static func openDescriptors(_ pid: Int32) -> Int? {
        guard let dir = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != 46 { count += 1 }   // skips "." and ".."
        }
        return count
    }

    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        for _ in 0..<64 {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
