import Testing
import Foundation
@testable import AtpgateEngine

@Suite("Access log")
struct AccessLogTests {
    static let fields = ["ts", "client", "method", "target", "decision", "rule", "upstream", "status",
                         "bytes_up", "bytes_down", "duration_ms", "error", "tls", "inspection"]

    static func parse(_ record: AccessRecord) throws -> [String: Any] {
        let line = record.jsonLine
        #expect(line.hasSuffix("\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let json = try #require(object)
        #expect(Set(json.keys) == Set(fields), "keys: \(json.keys.sorted())")
        let ts = try #require(json["ts"] as? String)
        #expect(ts.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil, "ts: \(ts)")
        #expect((json["client"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(json["duration_ms"] is NSNumber)
        return json
    }

    @Test("one line with every field: an allowed tunnel, a denied one, and a 400")
    func everyField() throws {
        let upstream = try TestServer.echo()
        let proxy = try ProxyHarness(policy: loopbackPolicy(allow: ["echo.test:\(upstream.port)"],
                                                            hosts: ["echo.test": "127.0.0.1"]))
        let socket = try proxy.openTunnel(to: "echo.test:\(upstream.port)")
        try socket.send("abc")
        _ = try socket.receive(exactly: 3)
        socket.shutdownWrite()
        _ = try socket.receiveAll()
        let allowed = try Self.parse(try #require(proxy.waitForLog(count: 1).first))
        #expect(allowed["method"] as? String == "CONNECT")
        #expect(allowed["target"] as? String == "echo.test:\(upstream.port)")
        #expect(allowed["decision"] as? String == "allow")
        #expect((allowed["rule"] as? String)?.hasPrefix("test.yaml:") == true)
        #expect(allowed["upstream"] as? String == "127.0.0.1:\(upstream.port)")
        #expect(allowed["status"] as? Int == 200)
        #expect(allowed["bytes_up"] as? Int == 3)
        #expect(allowed["bytes_down"] as? Int == 3)
        #expect(allowed["error"] is NSNull)

        _ = try proxy.rawExchange("CONNECT nope.test:443 HTTP/1.1\r\n\r\n")
        let denied = try Self.parse(try #require(proxy.waitForLog(count: 2).last))
        #expect(denied["decision"] as? String == "deny")
        #expect(denied["rule"] as? String == "default")
        #expect(denied["upstream"] is NSNull)
        #expect(denied["status"] as? Int == 403)
        #expect(denied["error"] as? String == "denied")

        _ = try proxy.rawExchange("BROKEN\r\n\r\n")
        let bad = try Self.parse(try #require(proxy.waitForLog(count: 3).last))
        #expect(bad["decision"] as? String == "error")
        #expect(bad["status"] as? Int == 400)
        #expect(bad["error"] as? String == "bad-request")
        #expect(bad["rule"] is NSNull)
    }

    @Test("hostile targets cannot break the line")
    func escaping() {
        let record = AccessRecord(ts: 0, client: "127.0.0.1:1", method: "GET", target: "a\"b\\c\u{1}\u{e9}",
                                  decision: "error", rule: nil, upstream: nil, status: 400, bytesUp: 0, bytesDown: 0,
                                  durationMs: 1.5, error: "bad-request")
        #expect(record.jsonLine.contains(#""target":"a\"b\\c\u0001\u00e9""#))
        #expect(record.jsonLine.hasPrefix(#"{"ts":"1970-01-01T00:00:00.000Z""#))
        #expect(record.jsonLine.contains(#""duration_ms":1.500"#))
    }
}
