/// A value that cannot be quoted safely for the shell it is meant for.
public struct QuotingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
}

/// Quoting for the command lines atpgate prints for people to paste on Windows.
public enum Quoting {
    /// cmd.exe and msiexec-style `Name="value"` arguments: double quotes, and no way to escape one
    /// inside (cmd has none that every parser agrees on), so `"` and line breaks are refused; `%`
    /// too, since cmd expands `%NAME%` even inside quotes.
    public static func cmd(_ value: String) throws(QuotingError) -> String {
        if let bad = value.unicodeScalars.first(where: { $0 == "\"" || $0 == "%" || $0.value < 0x20 || $0.value == 0x7F }) {
            throw QuotingError(description: "cannot quote \(bad.escaped(asASCII: true)) for cmd in \(value.debugDescription)")
        }
        return "\"" + value + "\""
    }

    /// PowerShell double quotes with the backtick escapes for what it would otherwise expand or end
    /// on: `` ` ``, `$` and `"` (and PowerShell's typographic quotes, which also end a string).
    public static func powerShell(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "`", "$", "\"", "\u{201C}", "\u{201D}", "\u{201E}": out += "`" + String(scalar)
            case "\n": out += "`n"
            case "\r": out += "`r"
            case "\t": out += "`t"
            case "\0": out += "`0"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
