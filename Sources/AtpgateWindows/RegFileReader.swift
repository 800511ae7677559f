/// Why a `.reg` file could not be read; `line` is 1-based (0: the file as a whole).
public struct RegFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { line == 0 ? message : "line \(line): \(message)" }

    /// Messages quote parts of the file (value names): control characters become "?" and long
    /// quotes are cut, so an error is always one clean line (found by fuzz-wininet).
    public init(line: Int, message: String) {
        self.line = line
        var clean = String(String.UnicodeScalarView(message.unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7F ? "?" : $0
        }))
        if clean.count > 300 { clean = String(clean.prefix(300)) + "…" }
        self.message = clean
    }
}

/// Reads the binary values out of a `.reg` export: regedit's UTF-16LE (with BOM) version 5
/// files, UTF-8/ASCII ones, and REGEDIT4. Values of other types are skipped: only `hex:` and
/// `hex(3):` (both REG_BINARY) can hold connection settings.
public enum RegFileReader {
    public static func values(_ data: [UInt8]) throws(RegFileError) -> [RegistryValue] {
        let lines = try logicalLines(text(data))
        guard let first = lines.first(where: { !$0.text.isEmpty }),
              first.text == RegFileWriter.header || first.text == "REGEDIT4" else {
            throw RegFileError(line: 1, message: "not a .reg file (want 'Windows Registry Editor Version 5.00' or 'REGEDIT4' first)")
        }
        var key: String? = nil
        var result: [RegistryValue] = []
        for (number, line) in lines.dropFirst(lines.firstIndex { !$0.text.isEmpty }! + 1) {
            if line.isEmpty || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw RegFileError(line: number, message: "unterminated key name") }
                let name = String(line.dropFirst().dropLast())
                key = name.hasPrefix("-") ? nil : name   // [-key] deletes: no values follow that apply
                continue
            }
            let (name, rest) = try valueName(line, number)
            guard rest.hasPrefix("=") else { throw RegFileError(line: number, message: "expected '=' after the value name") }
            let data = rest.dropFirst()
            let payload: Substring
            if data.hasPrefix("hex:") { payload = data.dropFirst(4) }
            else if data.lowercased().hasPrefix("hex(3):") { payload = data.dropFirst(7) }
            else { continue }
            guard let key else { continue }
            do {
                result.append(RegistryValue(key: key, name: name, bytes: try Hex.parse(String(payload))))
            } catch {
                throw RegFileError(line: number, message: "\(name): \(error)")
            }
        }
        return result
    }

    /// The file's text: UTF-16LE after an FF FE mark (regedit's version 5), else UTF-8 with or
    /// without its mark (hand-written files, REGEDIT4; ASCII is UTF-8).
    static func text(_ data: [UInt8]) throws(RegFileError) -> String {
        if data.starts(with: [0xFF, 0xFE]) {
            guard data.count % 2 == 0 else { throw RegFileError(line: 0, message: "UTF-16 file with an odd number of bytes") }
            var units: [UInt16] = []
            units.reserveCapacity(data.count / 2)
            for index in stride(from: 2, to: data.count, by: 2) { units.append(UInt16(data[index]) | UInt16(data[index + 1]) << 8) }
            guard let text = String(validating: units, as: UTF16.self) else {
                throw RegFileError(line: 0, message: "invalid UTF-16 in the file")
            }
            return text
        }
        if data.starts(with: [0xFE, 0xFF]) { throw RegFileError(line: 0, message: "big-endian UTF-16 is not a .reg encoding") }
        let body = data.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(data.dropFirst(3)) : data
        guard let text = String(validating: body, as: UTF8.self) else {
            throw RegFileError(line: 0, message: "the file is neither UTF-16LE with a byte-order mark nor UTF-8")
        }
        return text
    }

    /// Physical lines joined where one ends in `\` (regedit's hex continuation), each with the
    /// number of the line it started on; CR, surrounding blanks and continuation indents dropped.
    static func logicalLines(_ text: String) -> [(number: Int, text: String)] {
        var result: [(Int, String)] = []
        var pending: (start: Int, text: String)? = nil
        // Split on Characters: "\r\n" is one Character in Swift, so splitting on "\n" alone would miss it.
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingBlanks()
            let start = pending?.start ?? index + 1
            let joined = (pending?.text ?? "") + line
            if joined.hasSuffix("\\") {
                pending = (start, String(joined.dropLast()))
            } else {
                pending = nil
                result.append((start, joined))
            }
        }
        if let pending { result.append(pending) }
        return result
    }

    /// `"Name"` with `\"` and `\\` escapes, or `@` (the default value).
    static func valueName(_ line: String, _ number: Int) throws(RegFileError) -> (String, Substring) {
        if line.hasPrefix("@") { return ("", line.dropFirst()) }
        guard line.hasPrefix("\"") else { throw RegFileError(line: number, message: "expected a quoted value name or a [key]") }
        var name = ""
        var escaped = false
        var index = line.index(after: line.startIndex)
        while index < line.endIndex {
            let character = line[index]
            index = line.index(after: index)
            if escaped { name.append(character); escaped = false }
            else if character == "\\" { escaped = true }
            else if character == "\"" { return (name, line[index...]) }
            else { name.append(character) }
        }
        throw RegFileError(line: number, message: "unterminated value name")
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and CR (Foundation-free trimming).
    func trimmingBlanks() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !blank($0) }) else { return "" }
        let end = lastIndex(where: { !blank($0) })!
        return String(self[start...end])
    }
}
