import Testing
@testable import AtpgateTLSHello

// JA4 against FoxIO's specification (https://github.com/FoxIO-LLC/ja4, technical_details/JA4.md,
// read at commit 0e54bc8371de34df94a35f2442c05bda2e8b2034) and against captured ClientHellos whose
// expected fingerprints come from FoxIO's reference implementation, never from this one.

/// The hello of the specification's worked example ("Example", "Raw Output"), built from the values
/// it lists: 15 cipher suites, 16 extensions (SNI and ALPN among them), ALPN h2, TLS 1.3, eight
/// signature algorithms.
private func specExampleHello() -> ClientHello {
    ClientHello(
        legacyVersion: 0x0303,
        cipherSuites: [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
                       0x009c, 0x009d, 0x002f, 0x0035],
        extensions: [0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
                     0x002b, 0xff01, 0x000b, 0x000a, 0x0015],
        serverName: Array("example.com".utf8),
        alpn: [Array("h2".utf8), Array("http/1.1".utf8)],
        supportedVersions: [0x0304, 0x0303],
        signatureAlgorithms: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
        hasECH: false)
}

/// A hello with nothing in it but what a test sets.
private func emptyHello() -> ClientHello {
    ClientHello(legacyVersion: 0x0303, cipherSuites: [], extensions: [], serverName: nil, alpn: [],
                supportedVersions: [], signatureAlgorithms: [], hasECH: false)
}

@Suite("JA4: the specification's worked example")
struct JA4SpecExampleTests {
    @Test("JA4 and JA4_r of the example")
    func example() {
        #expect(JA4.fingerprint(specExampleHello()) == "t13d1516h2_8daaf6152771_e5627efa2ab1")
        #expect(JA4.raw(specExampleHello()) == "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601")
    }

    @Test("the intermediate strings and hashes the specification shows")
    func intermediates() {
        // "Cipher hash": the sorted list "= 8daaf6152771".
        #expect(JA4.hash12("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9") == "8daaf6152771")
        // "Extension hash": the full digest the specification prints.
        #expect(SHA256.hexDigest("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601".utf8)
                == "e5627efa2ab19723084c1033a96c694a45826ab5a460d2d3fd5ffcfe97161c95")
    }

    @Test("without signature algorithms the extension list ends without an underscore")
    func noSignatureAlgorithms() {
        var hello = specExampleHello()
        hello.signatureAlgorithms = []
        // The specification: "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01 = 6d807ffa2a79".
        #expect(JA4.fingerprint(hello) == "t13d1516h2_8daaf6152771_6d807ffa2a79")
        #expect(JA4.raw(hello).hasSuffix("_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"))
    }

    @Test("GREASE anywhere changes nothing: not counted, not listed, not a version")
    func greaseIgnored() {
        var hello = specExampleHello()
        hello.cipherSuites.insert(0x0a0a, at: 0)
        hello.cipherSuites.append(0xfafa)
        hello.extensions.insert(0x2a2a, at: 0)
        hello.extensions.append(0xdada)
        hello.supportedVersions.insert(0x7a7a, at: 0)
        hello.signatureAlgorithms.insert(0x3a3a, at: 3)
        #expect(JA4.fingerprint(hello) == "t13d1516h2_8daaf6152771_e5627efa2ab1")
        #expect(JA4.raw(hello) == JA4.raw(specExampleHello()))
    }

    @Test("the order of ciphers and extensions does not matter, the order of signature algorithms does")
    func ordering() {
        var shuffled = specExampleHello()
        shuffled.cipherSuites.reverse()
        shuffled.extensions.reverse()
        #expect(JA4.fingerprint(shuffled) == "t13d1516h2_8daaf6152771_e5627efa2ab1")
        var reordered = specExampleHello()
        reordered.signatureAlgorithms.swapAt(0, 1)
        #expect(JA4.fingerprint(reordered) != "t13d1516h2_8daaf6152771_e5627efa2ab1")
    }
}

@Suite("JA4: section a (transport, version, SNI, counts, ALPN)")
struct JA4SectionATests {
    @Test("the transport is the first character")
    func transport() {
        #expect(JA4.fingerprint(specExampleHello(), transport: .tcp).hasPrefix("t13d1516h2_"))
        #expect(JA4.fingerprint(specExampleHello(), transport: .quic).hasPrefix("q13d1516h2_"))
        #expect(JA4.fingerprint(specExampleHello(), transport: .dtls).hasPrefix("d13d1516h2_"))
    }

    /// (legacy_version, supported_versions, expected).
    static let versionCases: [(UInt16, [UInt16], String)] = [
        (0x0303, [], "12"),
        (0x0303, [0x0304, 0x0303], "13"),
        (0x0303, [0x0303, 0x0304], "13"),  // the highest, not the first
        (0x0303, [0x0a0a, 0x0304], "13"),  // GREASE is not a version
        (0x0303, [0x0a0a], "12"),          // nothing but GREASE: as if absent
        (0x0301, [0x0302, 0x0301], "11"),
        (0x0301, [], "10"),
        (0x0300, [], "s3"),
        (0x0002, [], "s2"),
        (0xfeff, [], "d1"),
        (0xfefd, [], "d2"),
        (0xfefd, [0xfefc, 0xfefd], "d2"),  // DTLS versions count down: the numeric maximum is the oldest
        (0xfefc, [], "d3"),
        (0x0305, [], "00"),
        (0x0303, [0x7f1c], "00"),          // a draft version is unknown
    ]

    @Test("the version: the highest supported_versions entry, else legacy_version", arguments: JA4SectionATests.versionCases)
    func version(legacy: UInt16, supported: [UInt16], expected: String) {
        var hello = emptyHello()
        hello.legacyVersion = legacy
        hello.supportedVersions = supported
        #expect(JA4.version(hello) == expected)
    }

    @Test("'d' when the server_name extension is there, even without a host_name; 'i' when it is not")
    func sni() {
        var hello = emptyHello()
        hello.extensions = [0x000a]
        #expect(JA4.raw(hello).hasPrefix("t12i0001"))
        hello.extensions = [0x000a, 0x0000]
        #expect(JA4.raw(hello).hasPrefix("t12d0002"))
    }

    @Test("counts are two digits and stop at 99")
    func counts() {
        var hello = emptyHello()
        hello.cipherSuites = (1...5).map { UInt16($0) }
        hello.extensions = (0x100..<0x100 + 120).map { UInt16($0) }
        #expect(JA4.raw(hello).hasPrefix("t12i059900_"))
        hello.cipherSuites = (1...100).map { UInt16($0) }
        hello.extensions = (0x100..<0x100 + 10).map { UInt16($0) }
        #expect(JA4.raw(hello).hasPrefix("t12i991000_"))
        // Non-cipher values count too: SCSVs and the reserved 0xFExx range.
        hello.cipherSuites = [0x00ff, 0x5600, 0xfe00, 0x1301]
        #expect(JA4.raw(hello).hasPrefix("t12i0410"))
        #expect(JA4.raw(hello).contains("_00ff,1301,5600,fe00_"))
    }

    /// Every example of the specification's "ALPN Extension Value" section, and its plain cases.
    static let alpnCases: [([UInt8], String)] = [
        ([], "00"),                     // "the first ALPN value is empty"
        (Array("h2".utf8), "h2"),
        (Array("http/1.1".utf8), "h1"),
        (Array("h3".utf8), "h3"),
        (Array("a".utf8), "aa"),               // "a single character … treated as both the first and last"
        (Array("0".utf8), "00"),
        (Array("X-9".utf8), "X9"),             // letters keep their case
        ([0xAB], "ab"),
        ([0x20], "20"),
        ([0xAB, 0xCD], "ad"),
        ([0x20, 0x61], "21"),
        ([0x30, 0xAB], "3b"),
        ([0x61, 0x20], "60"),
        ([0x30, 0x31, 0xAB, 0xCD], "3d"),
        ([0x30, 0xAB, 0xCD, 0x31], "01"),      // only the first and last bytes decide
        (Array("/".utf8), "2f"),
    ]

    @Test("the ALPN characters", arguments: JA4SectionATests.alpnCases)
    func alpn(value: [UInt8], expected: String) {
        #expect(JA4.alpnCharacters(value) == expected)
        var hello = emptyHello()
        hello.extensions = [0x0010]
        hello.alpn = [value, Array("h2".utf8)]  // only the first value counts
        #expect(JA4.raw(hello).hasPrefix("t12i0001" + expected + "_"))
    }

    @Test("no ALPN extension, or no values, is 00")
    func noALPN() {
        #expect(JA4.alpnCharacters(nil) == "00")
        #expect(JA4.raw(emptyHello()) == "t12i000000__")
    }
}

@Suite("JA4: sections b and c")
struct JA4HashTests {
    @Test("an empty cipher list or extension list hashes to twelve zeros")
    func emptyLists() {
        #expect(JA4.fingerprint(emptyHello()) == "t12i000000_000000000000_000000000000")
        // SNI and ALPN alone leave nothing for section c.
        var hello = emptyHello()
        hello.cipherSuites = [0x1301]
        hello.extensions = [0x0000, 0x0010]
        hello.serverName = Array("a.test".utf8)
        hello.alpn = [Array("h2".utf8)]
        #expect(JA4.raw(hello) == "t12d0102h2_1301_")
        #expect(JA4.fingerprint(hello) == "t12d0102h2_\(JA4.hash12("1301"))_000000000000")
    }

    @Test("hex is four lower-case digits")
    func hex() {
        #expect(JA4.hex4(0x0000) == "0000")
        #expect(JA4.hex4(0x002f) == "002f")
        #expect(JA4.hex4(0xCCA9) == "cca9")
        #expect(JA4.hex4(0xFFFF) == "ffff")
    }

    @Test("the fingerprint is section a and the first 12 hex digits of SHA-256 of the raw sections")
    func hashesOfRaw() throws {
        for (capture, _, _) in JA4CapturedTests.expectations {
            let hello = try ClientHelloParser.parse(capture.handshakeMessage)
            let raw = JA4.raw(hello).split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
            let fingerprint = JA4.fingerprint(hello).split(separator: "_")
            #expect(fingerprint.count == 3 && raw.count == 3, "\(capture.source)")
            guard fingerprint.count == 3, raw.count == 3 else { continue }
            #expect(fingerprint[0] == raw[0])
            let b = raw[1].isEmpty ? "000000000000" : String(SHA256.hexDigest(raw[1].utf8).prefix(12))
            #expect(fingerprint[1] == b, "\(capture.source)")
            let c = raw[2].isEmpty ? "000000000000" : String(SHA256.hexDigest(raw[2].utf8).prefix(12))
            #expect(fingerprint[2] == c, "\(capture.source)")
        }
    }
}

/// Captured hellos (CapturedHellos.swift) parsed by `ClientHelloParser` and fingerprinted. Every
/// expected value is the output of FoxIO's reference Python implementation (python/ja4.py at commit
/// 0e54bc8, run with tshark 4.0.17 as `python3 ja4.py FILE -J -r`), copied here:
/// - for the hellos captured here, on the pcap `scripts/capture-client-hello --pcap FILE` writes of
///   exactly these bytes (a tcpdump capture of the same connections gave the same values);
/// - for the hellos from FoxIO's pcaps, on a pcap of the extracted bytes; the values are also those
///   FoxIO publishes for its pcaps (python/test/testdata/*.json; the Rust tool's
///   rust/ja4/src/snapshots agree).
@Suite("JA4: captured ClientHellos")
struct JA4CapturedTests {
    /// (capture, JA4, JA4_r), from FoxIO's ja4.py.
    static let expectations: [(CapturedHello, String, String)] = [
        // Captured here by scripts/capture-client-hello (see CapturedHellos.swift for the versions).
        (CapturedHellos.curl,
         "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6",
         "t13d3112h2_002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,00ff,1301,1302,1303,c009,c00a,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9,ccaa_000a,000b,000d,0015,0016,0017,002b,002d,0031,0033_0403,0503,0603,0807,0808,0809,080a,080b,0804,0805,0806,0401,0501,0601,0303,0301,0302,0402,0502,0602"),
        (CapturedHellos.opensslSClient,
         "t13d311000_e8f1e7e78f70_1f22a2ca17c4",
         "t13d311000_002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,00ff,1301,1302,1303,c009,c00a,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9,ccaa_000a,000b,000d,0016,0017,0023,002b,002d,0033_0403,0503,0603,0807,0808,0809,080a,080b,0804,0805,0806,0401,0501,0601,0303,0301,0302,0402,0502,0602"),
        (CapturedHellos.opensslSClientALPN,
         "t13d3111h1_e8f1e7e78f70_1f22a2ca17c4",
         "t13d3111h1_002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,00ff,1301,1302,1303,c009,c00a,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9,ccaa_000a,000b,000d,0016,0017,0023,002b,002d,0033_0403,0503,0603,0807,0808,0809,080a,080b,0804,0805,0806,0401,0501,0601,0303,0301,0302,0402,0502,0602"),
        (CapturedHellos.pythonSSL,
         "t13d181100_85036bcba153_d41ae481755e",
         "t13d181100_0067,006b,009e,009f,00ff,1301,1302,1303,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9_000a,000b,000d,0015,0016,0017,0023,002b,002d,0033_0403,0503,0603,0807,0808,0809,080a,080b,0804,0805,0806,0401,0501,0601,0303,0301,0302,0402,0502,0602"),
        // From FoxIO's pcaps.
        (CapturedHellos.foxioTLS10SNIOnly,
         "t10d230100_6a57a6f57151_000000000000",
         "t10d230100_0003,0004,0005,0006,0008,0009,000a,0011,0012,0013,0014,0015,0016,002f,0032,0033,0035,0038,0039,0096,0099,009a,00ff_"),
        (CapturedHellos.foxioTLS12NoALPN,
         "t12d190800_d83cc789557e_7af1ed941c26",
         "t12d190800_000a,002f,0035,003c,003d,009c,009d,c009,c00a,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030_0005,000a,000b,000d,0017,0023,ff01_0804,0805,0806,0401,0501,0201,0403,0503,0203,0202,0601,0603"),
        (CapturedHellos.foxioMacOS,
         "t13d2613h2_2802a3db6c62_845d286b0d67",
         "t13d2613h2_000a,002f,0035,003c,003d,009c,009d,1301,1302,1303,c008,c009,c00a,c012,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,002b,002d,0033,ff01_0403,0804,0401,0503,0203,0805,0805,0501,0806,0601,0201"),
        (CapturedHellos.foxioTLS12ALPNh2,
         "t12d4605h2_85626a9a5f7f_aaf95bb78ec9",
         "t12d4605h2_0004,0005,000a,0016,002f,0033,0035,0039,003c,003d,0041,0045,0067,006b,0081,0084,0088,009c,009d,009e,009f,00ba,00be,00c0,00c4,00ff,c007,c008,c009,c00a,c011,c012,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9,ccaa,ff85_000a,000b,000d_0601,0603,efef,0501,0503,0401,0403,eeee,eded,0301,0303,0201,0203"),
        (CapturedHellos.foxioChrome,
         "t13d1516h2_8daaf6152771_e5627efa2ab1",
         "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"),
        (CapturedHellos.foxioChromeALPNh1,
         "t13d1517h1_8daaf6152771_6cdcb247c39b",
         "t13d1517h1_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,0029,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"),
        (CapturedHellos.foxioChromeNoALPN,
         "t13d151400_8daaf6152771_de4a06bb82e3",
         "t13d151400_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,ff01_0403,0804,0401,0503,0805,0501,0806,0601"),
        (CapturedHellos.foxioFirefox,
         "t13d1715h2_5b57614c22b0_3d5424432f57",
         "t13d1715h2_002f,0035,009c,009d,1301,1302,1303,c009,c00a,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0015,0017,001c,0022,0023,002b,002d,0033,ff01_0403,0503,0603,0804,0805,0806,0401,0501,0601,0203,0201"),
    ]

    @Test("JA4 and JA4_r of each capture are the reference implementation's")
    func captured() throws {
        for (capture, ja4, raw) in Self.expectations {
            let hello = try ClientHelloParser.parse(capture.handshakeMessage)
            #expect(JA4.raw(hello) == raw, "\(capture.source)")
            #expect(JA4.fingerprint(hello) == ja4, "\(capture.source)")
        }
    }

    /// FoxIO's tls-non-ascii-alpn.pcapng: a hello whose first ALPN value is 0xBA 0xAD. The reference
    /// tools print "99" there (ja4.py gives t13d151699_8daaf6152771_e5627efa2ab1, the Rust tool the same); the specification
    /// says the first and last hex digits of the value, "bd". Sections b and c are the reference's.
    @Test("a non-ASCII first ALPN value gives the specification's hex characters, not the tools' 99")
    func nonASCIIALPN() throws {
        let hello = try ClientHelloParser.parse(CapturedHellos.foxioNonASCIIALPN.handshakeMessage)
        #expect(hello.alpn.first == [0xBA, 0xAD])
        #expect(JA4.fingerprint(hello) == "t13d1516bd_8daaf6152771_e5627efa2ab1")
        #expect(JA4.raw(hello) == "t13d1516bd_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601")
    }

    /// The hello of FoxIO's tls-sni.pcapng stream 0 is a Chrome hello with the cipher suites,
    /// extensions and signature algorithms of the specification's example (in another order, with
    /// GREASE): the hand-built example and the real bytes must agree.
    @Test("the Chrome capture has the worked example's fingerprint")
    func chromeIsTheExample() throws {
        let hello = try ClientHelloParser.parse(CapturedHellos.foxioChrome.handshakeMessage)
        #expect(JA4.raw(hello) == JA4.raw(specExampleHello()))
        #expect(JA4.fingerprint(hello) == JA4.fingerprint(specExampleHello()))
    }
}
