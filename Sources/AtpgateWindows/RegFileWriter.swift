/// Writes `.reg` files the way regedit exports them, so `reg import` and a double click both
/// take them and a diff against a real export is quiet.
public enum RegFileWriter {
    public static let header = "Windows Registry Editor Version 5.00"

    /// The file's text with CRLF line ends; `utf16LE(_:)` turns it into the bytes regedit writes.
    public static func text(_ values: [RegistryValue]) -> String {
        var lines = [header, ""]
        var currentKey: String? = nil
        for value in values {
            if value.key != currentKey {
                if currentKey != nil { lines.append("") }
                lines.append("[\(value.key)]")
                currentKey = value.key
            }
            lines += valueLines(value)
        }
        lines.append("")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// UTF-16LE with a byte-order mark: version 5 files as regedit saves them.
    public static func utf16LE(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in text.utf16 { bytes += [UInt8(truncatingIfNeeded: unit), UInt8(truncatingIfNeeded: unit >> 8)] }
        return bytes
    }

    /// `"Name"=hex:46,00,...` wrapped as regedit wraps: a line is broken after the byte that takes it
    /// to 76 columns or more, with `,\` at the break and two spaces before the continuation (so a
    /// continuation line holds 25 bytes and no line passes 80 columns).
    static func valueLines(_ value: RegistryValue) -> [String] {
        var lines: [String] = []
        var line = quotedName(value.name) + "=hex:"
        for (index, byte) in value.bytes.enumerated() {
            line += Hex.byte(byte)
            guard index < value.bytes.count - 1 else { break }
            line += ","
            if line.utf8.count >= 76 {
                lines.append(line + "\\")
                line = "  "
            }
        }
        lines.append(line)
        return lines
    }

    /// regedit escapes `\` and `"` in value names with a backslash.
    static func quotedName(_ name: String) -> String {
        var out = "\""
        for character in name {
            if character == "\\" || character == "\"" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }
}
