/// A minimal JSON writer: the policy module stays free of Foundation, and `/policy` needs no more than
/// strings, numbers, null and nesting. Output is deterministic (object keys in the order given) and
/// pretty-printed with two-space indentation.
indirect enum JSONValue {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func optional<T>(_ value: T?, _ make: (T) -> JSONValue) -> JSONValue {
        value.map(make) ?? .null
    }

    var rendered: String {
        var out = ""
        render(into: &out, indent: "")
        return out
    }

    private func render(into out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .number(let value): out += JSONText.number(value)
        case .string(let value): out += JSONText.quoted(value)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            let inner = indent + "  "
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += inner
                item.render(into: &out, indent: inner)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let fields):
            guard !fields.isEmpty else { out += "{}"; return }
            let inner = indent + "  "
            out += "{\n"
            for (index, (key, value)) in fields.enumerated() {
                out += inner + JSONText.quoted(key) + ": "
                value.render(into: &out, indent: inner)
                out += index == fields.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        }
    }
}

enum JSONText {
    /// `text` as a JSON string: quotes and backslashes escaped, control characters (and DEL) as \u00XX.
    /// Everything else passes as UTF-8, which JSON allows.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: false)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A finite number; whole numbers without a fraction ("10", not "10.0"). Non-finite values have no
    /// JSON form and become null (the policy never holds one: durations are checked finite).
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }
}
