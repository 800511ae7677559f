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
    public var decision: String           // allow | deny | error | report (mode: report let it through)
    public var rule: String?
    public var upstream: String?          // ip:port dialled
    public var status: Int
    public var bytesUp: UInt64
    public var bytesDown: UInt64
    public var durationMs: Double
    public var error: String?             // the X-Atpgate-Error token
    public var tls: TLSFacts? = nil       // what a peeked tunnel's ClientHello offered; null when not peeked
    public var inspection: InspectionFacts? = nil   // an inspected tunnel's certificates; null when not inspected

    /// The JSON line, with a trailing newline. Keys in a fixed order for people reading it.
    ///
    /// Built as bytes into one buffer sized up front: every request writes a line, and the String
    /// interpolation and per-character appends this replaced cost more than the proxy's own work on a
    /// short tunnel. The text is the same byte for byte (`quote`, `milliseconds`, `rfc3339`).
    public var jsonLine: String {
        var out: [UInt8] = []
        out.reserveCapacity(224 + client.utf8.count + method.utf8.count + target.utf8.count + decision.utf8.count
                            + (rule?.utf8.count ?? 0) + (upstream?.utf8.count ?? 0) + (error?.utf8.count ?? 0))
        out.append(contentsOf: "{\"ts\":\"".utf8)
        Self.appendRFC3339(ts, to: &out)
        out.append(contentsOf: "\",\"client\":".utf8)
        Self.appendQuoted(client, to: &out)
        out.append(contentsOf: ",\"method\":".utf8)
        Self.appendQuoted(method, to: &out)
        out.append(contentsOf: ",\"target\":".utf8)
        Self.appendQuoted(target, to: &out)
        out.append(contentsOf: ",\"decision\":".utf8)
        Self.appendQuoted(decision, to: &out)
        out.append(contentsOf: ",\"rule\":".utf8)
        Self.appendQuotedOrNull(rule, to: &out)
        out.append(contentsOf: ",\"upstream\":".utf8)
        Self.appendQuotedOrNull(upstream, to: &out)
        out.append(contentsOf: ",\"status\":".utf8)
        if status < 0 { out.append(UInt8(ascii: "-")) }
        Self.appendDecimal(UInt64(status.magnitude), to: &out)
        out.append(contentsOf: ",\"bytes_up\":".utf8)
        Self.appendDecimal(bytesUp, to: &out)
        out.append(contentsOf: ",\"bytes_down\":".utf8)
        Self.appendDecimal(bytesDown, to: &out)
        out.append(contentsOf: ",\"duration_ms\":".utf8)
        Self.appendMilliseconds(durationMs, to: &out)
        out.append(contentsOf: ",\"error\":".utf8)
        Self.appendQuotedOrNull(error, to: &out)
        out.append(contentsOf: ",\"tls\":".utf8)
        if let tls { tls.appendJSON(to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: ",\"inspection\":".utf8)
        if let inspection { inspection.appendJSON(to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: "}\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    static func milliseconds(_ value: Double) -> String {
        var out: [UInt8] = []
        appendMilliseconds(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3339, UTC, milliseconds: 2026-11-29T18:04:05.123Z.
    static func rfc3339(_ seconds: Double) -> String {
        var out: [UInt8] = []
        appendRFC3339(seconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal; control characters and non-ASCII are escaped so a hostile request
    /// target can never break the line or a terminal.
    static func quote(_ text: String) -> String {
        var out: [UInt8] = []
        appendQuoted(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Thousandths, always three digits after the point ("12.034").
    private static func appendMilliseconds(_ value: Double, to out: inout [UInt8]) {
        let thousandths = Int((max(0, value) * 1000).rounded())
        appendDecimal(UInt64(thousandths / 1000), to: &out)
        out.append(UInt8(ascii: "."))
        appendPadded(thousandths % 1000, width: 3, to: &out)
    }

    private static func appendRFC3339(_ seconds: Double, to out: inout [UInt8]) {
        var whole = time_t(seconds.rounded(.down))
        let millis = Int((seconds - Double(whole)) * 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        appendPadded(Int(parts.tm_year) + 1900, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(Int(parts.tm_mon) + 1, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(Int(parts.tm_mday), width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendPadded(Int(parts.tm_hour), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(Int(parts.tm_min), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(Int(parts.tm_sec), width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendPadded(min(999, millis), width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// At least `width` digits, zero-padded on the left, without an intermediate String. A negative
    /// value (never in a date) is padded as its text was: zeros, then the sign and digits.
    private static func appendPadded(_ value: Int, width: Int, to out: inout [UInt8]) {
        if value < 0 {
            let text = Array(String(value).utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, width - text.count)))
            out.append(contentsOf: text)
            return
        }
        var divisor = 1
        var digits = 1
        while value / divisor >= 10 {
            divisor *= 10
            digits += 1
        }
        if digits < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits)) }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
            divisor /= 10
        }
    }

    private static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        let start = out.count
        var rest = value
        while rest > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        }
        out[start...].reverse()
    }

    static func appendQuotedOrNull(_ text: String?, to out: inout [UInt8]) {
        if let text {
            appendQuoted(text, to: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
    }

    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        let plain = text.withUTF8 { bytes -> Bool in
            // The usual case, printable ASCII: copied as it is, escaping only quote and backslash.
            for byte in bytes where byte < 0x20 || byte >= 0x7F { return false }
            for byte in bytes {
                if byte == 0x22 || byte == 0x5C { out.append(0x5C) }
                out.append(byte)
            }
            return true
        }
        if !plain {
            // Anything else goes unit by UTF-16 unit, as JSON's \u escapes count them.
            for unit in text.utf16 {
                switch unit {
                case 0x22: out.append(contentsOf: "\\\"".utf8)
                case 0x5C: out.append(contentsOf: "\\\\".utf8)
                case 0x0A: out.append(contentsOf: "\\n".utf8)
                case 0x0D: out.append(contentsOf: "\\r".utf8)
                case 0x09: out.append(contentsOf: "\\t".utf8)
                case 0x20..<0x7F: out.append(UInt8(unit))
                default:
                    let hex = Array(String(unit, radix: 16).utf8)
                    out.append(contentsOf: "\\u".utf8)
                    out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 4 - hex.count))
                    out.append(contentsOf: hex)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Wall-clock now as Unix seconds.
func wallClockNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
