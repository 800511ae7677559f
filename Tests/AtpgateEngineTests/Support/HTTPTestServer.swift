import Foundation
@testable import AtpgateEngine
import AtpgateIO

/// A small HTTP/1.1 origin for forwarding tests. Paths:
///   /cl/N       N bytes with Content-Length          /chunked     a chunked body "hello world"
///   /close      a close-delimited body               /echo        echoes the request body (Content-Length or chunked)
///   /continue   sends 100 Continue, then 200
/// Every request head it receives is recorded, so tests can check what the proxy forwarded.
final class HTTPTestServer: @unchecked Sendable {
    let server: TestServer
    private let heads = Locked<[String]>([])
    var port: UInt16 { server.port }
    var receivedHeads: [String] { heads.withLock { $0 } }

    init() throws {
        let heads = self.heads
        server = try TestServer { socket in
            var buffered: [UInt8] = []
            while true {
                while buffered.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
                    guard let chunk = try? socket.receive(), !chunk.isEmpty else { return }
                    buffered += chunk
                }
                let end = buffered.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound
                let head = String(decoding: buffered[0..<end], as: UTF8.self)
                buffered.removeFirst(end)
                heads.withLock { $0.append(head) }
                let lines = head.components(separatedBy: "\r\n")
                let path = lines[0].split(separator: " ")[1].split(separator: "?")[0]
                let headerValue = { (name: String) -> String? in
                    lines.first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                        .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
                }
                var body: [UInt8] = []
                if let length = headerValue("Content-Length").flatMap(Int.init) {
                    while buffered.count < length {
                        guard let chunk = try? socket.receive(), !chunk.isEmpty else { return }
                        buffered += chunk
                    }
                    body = Array(buffered[0..<length]); buffered.removeFirst(length)
                } else if headerValue("Transfer-Encoding")?.lowercased() == "chunked" {
                    while !Self.hasCompleteChunkedBody(buffered) {
                        guard let chunk = try? socket.receive(), !chunk.isEmpty else { return }
                        buffered += chunk
                    }
                    body = Self.dechunk(buffered); buffered = []
                }
                switch path {
                case let p where p.hasPrefix("/cl/"):
                    let n = Int(p.dropFirst(4)) ?? 0
                    try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: \(n)\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n")
                    try? socket.send([UInt8](repeating: UInt8(ascii: "x"), count: n))
                case "/chunked":
                    try? socket.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
                case "/close":
                    try? socket.send("HTTP/1.1 200 OK\r\n\r\nuntil close")
                    return
                case "/continue":
                    try? socket.send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                default:
                    try? socket.send("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n")
                    try? socket.send(body)
                }
            }
        }
    }

    /// The last chunk ("0" line) followed by the (possibly empty) trailer section's final CRLF.
    static func hasCompleteChunkedBody(_ bytes: [UInt8]) -> Bool {
        let lastChunk = bytes.starts(with: Array("0\r\n".utf8)) ? bytes.startIndex
            : bytes.firstRange(of: Array("\r\n0\r\n".utf8)).map { $0.lowerBound + 2 }
        guard let lastChunk else { return false }
        return bytes[(lastChunk + 1)...].firstRange(of: Array("\r\n\r\n".utf8)) != nil
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], index = 0
        while let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8)) {
            let line = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            let size = Int(line.split(separator: ";").first.map(String.init) ?? "", radix: 16) ?? 0
            if size == 0 { break }
            out += bytes[lineEnd.upperBound..<lineEnd.upperBound + size]
            index = lineEnd.upperBound + size + 2
        }
        return out
    }
}
