import Testing
@testable import AtpgateWindows

/// Inputs fuzz-wininet crashed on, kept as tests.
@Suite("fuzz-wininet regressions")
struct FuzzRegressionTests {
    /// A REGEDIT4 file whose value name holds NUL bytes and whose hex data is broken: the error
    /// quoted the name raw, so the message was not one clean line.
    @Test("errors quoting a value name with control characters stay one clean line")
    func controlCharactersInQuotedName() {
        let text = "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X]\n\"WinHttpSett" + String(repeating: "\u{0}", count: 64)
            + "ings\"=hex:29,00,00,00,00,00,00,00,01,00,00,00,\\\n  00,00,00,00,0\u{4}\u{0}\u{0}0,00,00,00\n"
        #expect(throws: RegFileError.self) { _ = try RegFileReader.values(Array(text.utf8)) }
        do {
            _ = try RegFileReader.values(Array(text.utf8))
        } catch {
            #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
            #expect(error.description.hasPrefix("line 4: WinHttpSett???"))
        }
    }
}
