#if canImport(Glibc)
import Glibc
#endif

/// One access-log line: every CONNECT, every forwarded request, every request refused before a dial.
/// Field names are a contract with operators' tooling: never rename them.
public struct AccessRecord: Sendable {
    public var ts: Double                 // Unix time (seconds) when the request head was complete
    public var client: String             // ip:port
    public var method: String
    public var target: String
    public var decision: String           // allow | deny | error
    public var rule: String?
    public var upstream: String?          // ip:port dialled
    public var status: Int
    public var bytesUp: UInt64
    public var bytesDown: UInt64
    public var durationMs: Double
    public var error: String?             // the X-Atpgate-Error token

    /// The JSON line, with a trailing newline. Keys in a fixed order for people reading it.
    public var jsonLine: String {
        var out = "{\"ts\":\"\(Self.rfc3339(ts))\""
        out += ",\"client\":" + Self.quote(client)
        out += ",\"method\":" + Self.quote(method)
        out += ",\"target\":" + Self.quote(target)
        out += ",\"decision\":" + Self.quote(decision)
        out += ",\"rule\":" + (rule.map(Self.quote) ?? "null")
        out += ",\"upstream\":" + (upstream.map(Self.quote) ?? "null")
        out += ",\"status\":\(status)"
        out += ",\"bytes_up\":\(bytesUp)"
        out += ",\"bytes_down\":\(bytesDown)"
        out += ",\"duration_ms\":" + Self.milliseconds(durationMs)
        out += ",\"error\":" + (error.map(Self.quote) ?? "null")
        out += "}\n"
        return out
    }

    static func milliseconds(_ value: Double) -> String {
        let thousandths = Int((max(0, value) * 1000).rounded())
        let fraction = thousandths % 1000
        return "\(thousandths / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }

    /// RFC 3339, UTC, milliseconds: 2026-11-29T18:04:05.123Z.
    static func rfc3339(_ seconds: Double) -> String {
        var whole = time_t(seconds.rounded(.down))
        let millis = Int((seconds - Double(whole)) * 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(min(999, millis)), 3))Z"
    }

    /// A JSON string literal; control characters and non-ASCII are escaped so a hostile request
    /// target can never break the line or a terminal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }
}

/// Wall-clock now as Unix seconds.
func wallClockNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
