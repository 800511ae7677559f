import AtpgateWindows
import Testing

/// The DefaultConnectionSettings / WinHttpSettings codec on the vectors, round trips and every malformed shape.
struct ConnectionSettingsTests {
    @Test func fullVector() throws {
        let settings = try ConnectionSettings(decoding: Vectors.full)
        #expect(settings.kind == .wininet)
        #expect(settings.version == 0x46)
        #expect(settings.counter == 64)
        #expect(settings.flags == [.direct, .proxy, .autoConfigURL, .autoDetect])
        #expect(settings.flags.rawValue == 0x0F)
        #expect(settings.proxyServer == "google.com:42")
        #expect(settings.bypassList == "Lol;<local>")
        #expect(settings.autoConfigURL == "http://google.fr/")
        #expect(settings.trailer == [UInt8](repeating: 0, count: 32))
        #expect(settings.warnings.isEmpty)
    }

    @Test func directVector() throws {
        let settings = try ConnectionSettings(decoding: Vectors.direct)
        #expect((settings.counter, settings.flags) == (58, .direct))
        #expect(settings.proxyServer.isEmpty && settings.bypassList.isEmpty && settings.autoConfigURL.isEmpty)
        #expect(settings.trailer.count == 32)
        #expect(settings.warnings.isEmpty)
    }

    @Test func ie5Vector() throws {
        let settings = try ConnectionSettings(decoding: Vectors.ie5, as: .wininet)
        #expect((settings.version, settings.counter, settings.flags) == (0x3C, 58, [.direct, .autoDetect]))
        #expect(settings.trailer.count == 28)
        #expect(settings.warnings.isEmpty)
    }

    @Test func winhttpVector() throws {
        let settings = try ConnectionSettings(decoding: Vectors.winhttp, as: .winhttp)
        #expect((settings.kind, settings.version, settings.counter, settings.flags) == (.winhttp, 0x28, 0, [.direct, .proxy]))
        #expect((settings.proxyServer, settings.bypassList) == ("a:42", "*.42"))
        #expect(settings.trailer.isEmpty && settings.warnings.isEmpty)
        let reset = try ConnectionSettings(decoding: Vectors.winhttpReset)
        #expect((reset.kind, reset.flags, reset.proxyServer) == (.winhttp, .direct, ""))
        #expect(reset.trailer.isEmpty)
    }

    @Test(arguments: Vectors.all)
    func roundTrip(bytes: [UInt8]) throws {
        #expect(try ConnectionSettings(decoding: bytes).encoded() == bytes)
    }

    @Test func encodesVectorsFromFields() throws {
        let full = ConnectionSettings(kind: .wininet, counter: 64, flags: [.direct, .proxy, .autoConfigURL, .autoDetect],
                                      proxyServer: "google.com:42", bypassList: "Lol;<local>", autoConfigURL: "http://google.fr/")
        #expect(try full.encoded() == Vectors.full)
        #expect(try ConnectionSettings(kind: .wininet, counter: 58, flags: .direct).encoded() == Vectors.direct)
        #expect(try ConnectionSettings(kind: .wininet, version: 0x3C, counter: 58, flags: [.direct, .autoDetect]).encoded() == Vectors.ie5)
        let winhttp = ConnectionSettings(kind: .winhttp, counter: 0, flags: [.direct, .proxy], proxyServer: "a:42", bypassList: "*.42")
        #expect(try winhttp.encoded() == Vectors.winhttp)
    }

    /// Detection state in the trailer, or a longer trailer: warned about, kept byte for byte.
    @Test(arguments: [[UInt8](repeating: 0, count: 31), [UInt8](repeating: 0, count: 40), [UInt8](repeating: 0x5A, count: 32), []])
    func opaqueTrailer(trailer: [UInt8]) throws {
        let bytes = Array(Vectors.direct.prefix(24)) + trailer
        let settings = try ConnectionSettings(decoding: bytes)
        #expect(settings.trailer == trailer)
        #expect(!settings.warnings.isEmpty)
        #expect(try settings.encoded() == bytes)
    }

    @Test func winhttpTrailingBytesAreKept() throws {
        let bytes = Vectors.winhttp + [1, 2, 3]
        let settings = try ConnectionSettings(decoding: bytes)
        #expect(settings.trailer == [1, 2, 3])
        #expect(settings.warnings.contains { $0.contains("trailer is 3 bytes") })
        #expect(try settings.encoded() == bytes)
    }

    /// Cutting a vector anywhere inside its fields gives a precise error, never a crash or a value.
    @Test(arguments: Vectors.all)
    func truncatedAtEveryOffset(bytes: [UInt8]) throws {
        let settings = try ConnectionSettings(decoding: bytes)
        let fieldsEnd = bytes.count - settings.trailer.count
        for length in 0..<fieldsEnd {
            #expect(throws: ConnectionSettingsError.self, "cut at \(length)") {
                try ConnectionSettings(decoding: Array(bytes.prefix(length)))
            }
        }
        // Cuts inside the trailer only shorten the trailer (it is opaque).
        for length in fieldsEnd..<bytes.count {
            #expect(try ConnectionSettings(decoding: Array(bytes.prefix(length))).trailer.count == length - fieldsEnd)
        }
    }

    @Test func truncationErrorsNameTheField() {
        #expect(throws: ConnectionSettingsError.truncated(field: "version", offset: 0, available: 0)) {
            try ConnectionSettings(decoding: [])
        }
        #expect(throws: ConnectionSettingsError.truncated(field: "flags", offset: 8, available: 3)) {
            try ConnectionSettings(decoding: Array(Vectors.full.prefix(11)))
        }
        #expect(throws: ConnectionSettingsError.truncated(field: "bypass list length", offset: 29, available: 1)) {
            try ConnectionSettings(decoding: Array(Vectors.full.prefix(30)))
        }
        #expect(throws: ConnectionSettingsError.lengthBeyondEnd(field: "proxy server", offset: 12, length: 13, remaining: 5)) {
            try ConnectionSettings(decoding: Array(Vectors.full.prefix(21)))
        }
    }

    @Test(arguments: [UInt32(13), 14, 0x100, 0xFFFF_FFFF])
    func lengthBeyondEnd(length: UInt32) {
        var bytes = Array(Vectors.winhttp.prefix(12))
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
        bytes += Array("google.com:42".utf8)
        let expected = length == 13 ? nil : ConnectionSettingsError.lengthBeyondEnd(field: "proxy server", offset: 12, length: length, remaining: 13)
        if let expected {
            #expect(throws: expected) { try ConnectionSettings(decoding: bytes) }
        } else {
            // Exactly 13: the proxy fits, then the bypass length is missing.
            #expect(throws: ConnectionSettingsError.truncated(field: "bypass list length", offset: 29, available: 0)) {
                try ConnectionSettings(decoding: bytes)
            }
        }
    }

    @Test(arguments: [UInt32(0), 0x45, 0x47, 0x3B, 0x29, 0x0100_0046, 0xFFFF_FFFF])
    func unknownVersion(version: UInt32) {
        var bytes = Vectors.direct
        bytes.replaceSubrange(0..<4, with: [UInt8(version & 0xFF), UInt8(version >> 8 & 0xFF), UInt8(version >> 16 & 0xFF), UInt8(version >> 24)])
        #expect(throws: ConnectionSettingsError.unknownVersion(version, expected: nil)) { try ConnectionSettings(decoding: bytes) }
    }

    @Test func kindMismatchIsAnUnknownVersion() {
        #expect(throws: ConnectionSettingsError.unknownVersion(0x28, expected: .wininet)) {
            try ConnectionSettings(decoding: Vectors.winhttp, as: .wininet)
        }
        #expect(throws: ConnectionSettingsError.unknownVersion(0x46, expected: .winhttp)) {
            try ConnectionSettings(decoding: Vectors.full, as: .winhttp)
        }
    }

    @Test(arguments: [(16, "proxy server"), (33, "bypass list"), (48, "auto-config URL")])
    func nonASCII(offset: Int, field: String) {
        var bytes = Vectors.full
        bytes[offset] = 0xE9
        #expect(throws: ConnectionSettingsError.nonASCII(field: field, offset: offset, byte: 0xE9)) {
            try ConnectionSettings(decoding: bytes)
        }
    }

    @Test func encodeRefusesWhatWindowsCannotHold() {
        #expect(throws: ConnectionSettingsError.nonASCII(field: "proxy server", offset: 16, byte: 0xC3)) {
            try ConnectionSettings(kind: .wininet, flags: .proxy, proxyServer: "é:1").encoded()
        }
        #expect(throws: ConnectionSettingsError.self) {
            try ConnectionSettings(kind: .winhttp, flags: .proxy, proxyServer: "a:1", autoConfigURL: "http://x/").encoded()
        }
    }

    @Test func errorTexts() {
        #expect("\(ConnectionSettingsError.unknownVersion(0x47, expected: nil))" == "unknown version 0x00000047 (expected 0x46 or 0x3C (WinINET), 0x28 or 0x18 (WinHTTP))")
        #expect("\(ConnectionSettingsError.lengthBeyondEnd(field: "bypass list", offset: 29, length: 99, remaining: 3))"
                == "bypass list length 99 at offset 29 runs past the end (3 bytes follow)")
        #expect("\(ConnectionSettingsError.nonASCII(field: "proxy server", offset: 16, byte: 0xE9))" == "non-ASCII byte 0xe9 in proxy server at offset 16")
    }

    @Test(arguments: [("46 00 00 00", [UInt8(0x46), 0, 0, 0]), ("0x46,0x00", [0x46, 0]), ("46,00,\\\r\n  01", [0x46, 0, 1]),
                      ("AbCd", [0xAB, 0xCD]), ("", [])])
    func hexParsing(text: String, bytes: [UInt8]) throws {
        #expect(try Hex.parse(text) == bytes)
    }

    @Test(arguments: ["4", "46 0", "zz", "46-00", "4 6"])
    func badHex(text: String) {
        #expect(throws: Hex.ParseError.self) { try Hex.parse(text) }
    }
}
