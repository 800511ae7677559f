import AtpgateWindows
import Testing

/// .reg files: written as regedit writes them, read back in both encodings, and REGEDIT4 exports.
struct RegFileTests {
    static let values = SettingsKind.wininet.registryValues(Vectors.full)

    @Test func layoutMatchesRegedit() {
        let text = RegFileWriter.text(RegFileTests.values)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Windows Registry Editor Version 5.00")
        #expect(lines[1] == "")
        #expect(lines[2] == #"[HKEY_USERS\S-1-5-18\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections]"#)
        #expect(lines[3].hasPrefix(#""DefaultConnectionSettings"=hex:46,00,00,00,40,00,"#))
        #expect(text.contains(#"[HKEY_USERS\S-1-5-19\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections]"#))
        #expect(!text.replacing("\r\n", with: "").contains("\n"), "bare LF")
        #expect(text.hasSuffix("\r\n\r\n"))
        for line in lines where line.hasPrefix("  ") {
            #expect(line.utf8.count <= 80)
            #expect(line.hasSuffix(",\\") || !line.hasSuffix(","))
        }
        // Continuation lines hold 25 bytes, as in regedit exports.
        let continued = lines.filter { $0.hasPrefix("  ") && $0.hasSuffix("\\") }
        #expect(!continued.isEmpty)
        for line in continued { #expect(line.split(separator: ",").count == 26, "\(line)") }
        #expect(lines.filter { !$0.hasPrefix("[") }.allSatisfy { $0.utf8.count <= 80 })
    }

    @Test func utf16WithBOM() {
        let bytes = RegFileWriter.utf16LE("Wi\r\n")
        #expect(bytes == [0xFF, 0xFE, 0x57, 0, 0x69, 0, 0x0D, 0, 0x0A, 0])
    }

    @Test(arguments: [true, false])
    func readsItsOwnOutput(utf16: Bool) throws {
        let text = RegFileWriter.text(RegFileTests.values)
        let data = utf16 ? RegFileWriter.utf16LE(text) : Array(text.utf8)
        let values = try RegFileReader.values(data)
        #expect(values == RegFileTests.values)
        #expect(try ConnectionSettings(decoding: values[0].bytes).proxyServer == "google.com:42")
    }

    @Test(arguments: Vectors.all)
    func everyVectorRoundTrips(bytes: [UInt8]) throws {
        let values = [RegistryValue(key: #"HKEY_LOCAL_MACHINE\X"#, name: "WinHttpSettings", bytes: bytes)]
        #expect(try RegFileReader.values(RegFileWriter.utf16LE(RegFileWriter.text(values))) == values)
    }

    /// A REGEDIT4 export (ANSI, LF line ends) with hex continuation lines and other value types around it.
    @Test func regedit4WithContinuations() throws {
        let text = """
            REGEDIT4

            ; exported by hand
            [HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections]
            "SavedLegacySettings"=hex:46,00,00,00,3a,00,00,00,01,00,00,00,00,00,00,00,00,00,00,\\
              00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,\\
              00,00,00,00,00,00,00,00,00,00,00,00
            "DefaultConnectionSettings"=hex:46,00,00,00,40,00,00,00,0f,00,00,00,0d,00,00,00,67,\\
              6f,6f,67,6c,65,2e,63,6f,6d,3a,34,32,0b,00,00,00,4c,6f,6c,3b,3c,6c,6f,63,61,6c,\\
              3e,11,00,00,00,68,74,74,70,3a,2f,2f,67,6f,6f,67,6c,65,2e,66,72,2f,00,00,00,00,\\
              00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,\\
              00,00
            "ProxyEnable"=dword:00000001
            "ProxyServer"="google.com:42"

            """
        let values = try RegFileReader.values(Array(text.utf8))
        #expect(values.map(\.name) == ["SavedLegacySettings", "DefaultConnectionSettings"])
        #expect(values[1].bytes == Vectors.full)
        #expect(values[0].bytes == Vectors.direct)
    }

    @Test func utf8BOMAndHexType3() throws {
        let text = "\u{FEFF}Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\K]\r\n\"Win\\\"Http\"=hex(3):28,00,\\\r\n  00,00\r\n"
        let values = try RegFileReader.values(Array(text.utf8))
        #expect(values == [RegistryValue(key: #"HKEY_LOCAL_MACHINE\K"#, name: "Win\"Http", bytes: [0x28, 0, 0, 0])])
    }

    @Test(arguments: [
        ("", 1), ("hello\n", 1), ("REGEDIT4\n[HKEY_X\n", 2), ("REGEDIT4\n[K]\nName=hex:00\n", 3),
        ("REGEDIT4\n[K]\n\"Name\"hex:00\n", 3), ("REGEDIT4\n[K]\n\"Name\"=hex:0g\n", 3), ("REGEDIT4\n[K]\n\"Name=hex:00\n", 3),
    ])
    func malformed(text: String, line: Int) {
        #expect(throws: RegFileError.self) { try RegFileReader.values(Array(text.utf8)) }
        do {
            _ = try RegFileReader.values(Array(text.utf8))
        } catch {
            #expect(error.line == line, "\(error)")
        }
    }

    @Test func badEncodings() {
        #expect(throws: RegFileError.self) { try RegFileReader.values([0xFF, 0xFE, 0x41]) }
        #expect(throws: RegFileError.self) { try RegFileReader.values([0xFF, 0xFE, 0x00, 0xD8]) }   // lone surrogate
        #expect(throws: RegFileError.self) { try RegFileReader.values([0x52, 0xE9, 0xFF]) }
    }

    @Test func powerShellScript() {
        let script = SettingsScript.powerShell(SettingsKind.wininet.registryValues([0x46, 0x00, 0x3C]))
        #expect(script.contains(#"Set-ItemProperty -LiteralPath 'Registry::HKEY_USERS\S-1-5-18\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections' -Name 'DefaultConnectionSettings' -Type Binary -Value ([byte[]](0x46,0x00,0x3c))"#))
        #expect(script.contains(#"'Registry::HKEY_USERS\S-1-5-19\Software"#))
        #expect(script.contains("if (-not (Test-Path -LiteralPath 'Registry::HKEY_USERS"))
    }

    @Test func netshLine() throws {
        let settings = try ConnectionSettings(decoding: Vectors.winhttp)
        #expect(try SettingsScript.netsh(settings) == #"netsh winhttp set proxy proxy-server="a:42" bypass-list="*.42""#)
        #expect(try SettingsScript.netsh(ConnectionSettings(decoding: Vectors.winhttpReset)) == "netsh winhttp reset proxy")
        #expect(throws: QuotingError.self) {
            try SettingsScript.netsh(ConnectionSettings(kind: .winhttp, flags: .proxy, proxyServer: "a\":1"))
        }
    }
}
