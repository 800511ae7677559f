import Testing
@testable import AtpgateTLSHello

/// Writes ClientHello bytes field by field and remembers where every length field is, so a test can
/// corrupt exactly one of them.
struct HelloWriter {
    struct LengthField: CustomStringConvertible {
        var name: String
        var offset: Int
        var size: Int
        var description: String { "\(name) at \(offset)" }
    }

    private(set) var bytes: [UInt8] = []
    private(set) var lengthFields: [LengthField] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    mutating func raw(_ value: [UInt8]) { bytes += value }

    /// A block preceded by its `size`-byte big-endian length, filled in after `body` has written it.
    mutating func block(_ size: Int, _ name: String, _ body: (inout HelloWriter) -> Void) {
        let at = bytes.count
        bytes += [UInt8](repeating: 0, count: size)
        lengthFields.append(LengthField(name: name, offset: at, size: size))
        body(&self)
        let length = bytes.count - at - size
        for k in 0..<size { bytes[at + k] = UInt8(truncatingIfNeeded: length >> (8 * (size - 1 - k))) }
    }
}

/// One extension of a hand-built hello: its type and how its extension_data is written.
struct HelloExtension: Sendable {
    var type: UInt16
    var write: @Sendable (inout HelloWriter) -> Void

    static func opaque(_ type: UInt16, _ data: [UInt8] = []) -> HelloExtension {
        HelloExtension(type: type) { $0.raw(data) }
    }

    static func serverName(_ host: String) -> HelloExtension {
        serverNameEntries([(0, Array(host.utf8))])
    }

    static func serverNameEntries(_ entries: [(UInt8, [UInt8])]) -> HelloExtension {
        HelloExtension(type: 0x0000) { w in
            w.block(2, "server_name_list") { w in
                for (type, name) in entries {
                    w.u8(type)
                    w.block(2, "server_name name") { $0.raw(name) }
                }
            }
        }
    }

    static func alpn(_ names: [[UInt8]]) -> HelloExtension {
        HelloExtension(type: 0x0010) { w in
            w.block(2, "protocol_name_list") { w in
                for name in names { w.block(1, "protocol_name") { $0.raw(name) } }
            }
        }
    }

    static func supportedVersions(_ versions: [UInt16]) -> HelloExtension {
        HelloExtension(type: 0x002b) { w in w.block(1, "supported_versions") { w in versions.forEach { w.u16($0) } } }
    }

    static func signatureAlgorithms(_ algorithms: [UInt16]) -> HelloExtension {
        HelloExtension(type: 0x000d) { w in
            w.block(2, "signature_algorithms") { w in algorithms.forEach { w.u16($0) } }
        }
    }

    /// A TLS 1.3 style set: SNI, groups, ALPN, signature algorithms, key share, supported versions.
    static let typical: [HelloExtension] = [
        .serverName("example.com"),
        .opaque(0x000a, [0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]),
        .alpn([Array("h2".utf8), Array("http/1.1".utf8)]),
        .signatureAlgorithms([0x0403, 0x0804, 0x0401]),
        .opaque(0x0033, [0x00, 0x06, 0x00, 0x1d, 0x00, 0x02, 0xAA, 0xBB]),
        .supportedVersions([0x0304, 0x0303]),
    ]
}

/// A hand-built ClientHello; `message` is the handshake message (type, 3-byte length, body).
struct HelloSpec: Sendable {
    var legacyVersion: UInt16 = 0x0303
    var sessionID = [UInt8](repeating: 0xAB, count: 32)
    var cipherSuites: [UInt16] = [0x1301, 0x1302, 0xc02b]
    var compressionMethods: [UInt8] = [0]
    /// nil: the hello ends after the compression methods (no extensions block at all).
    var extensions: [HelloExtension]? = HelloExtension.typical

    var writer: HelloWriter {
        var w = HelloWriter()
        w.u8(1)
        w.block(3, "handshake length") { w in
            w.u16(legacyVersion)
            w.raw([UInt8](repeating: 0x5A, count: 32))
            w.block(1, "legacy_session_id") { $0.raw(sessionID) }
            w.block(2, "cipher_suites") { w in cipherSuites.forEach { w.u16($0) } }
            w.block(1, "legacy_compression_methods") { $0.raw(compressionMethods) }
            guard let extensions else { return }
            w.block(2, "extensions") { w in
                for e in extensions {
                    w.u16(e.type)
                    w.block(2, "extension_data \(e.type)", e.write)
                }
            }
        }
        return w
    }

    var message: [UInt8] { writer.bytes }
}

fileprivate func parseHello(_ message: [UInt8]) -> Result<ClientHello, ClientHelloError> {
    do throws(ClientHelloError) { return .success(try ClientHelloParser.parse(message)) } catch {
        return .failure(error)
    }
}

fileprivate func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8)
    return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)! }
}

@Suite struct ClientHelloParserTests {
    @Test func everyFieldOfAHandBuiltHello() throws {
        var spec = HelloSpec()
        spec.legacyVersion = 0x0303
        spec.extensions! += [.opaque(0xfe0d, [1, 2, 3]), .opaque(0x0015, [0, 0, 0])]
        let hello = try ClientHelloParser.parse(spec.message)
        #expect(hello == ClientHello(
            legacyVersion: 0x0303, cipherSuites: [0x1301, 0x1302, 0xc02b],
            extensions: [0x0000, 0x000a, 0x0010, 0x000d, 0x0033, 0x002b, 0xfe0d, 0x0015],
            serverName: Array("example.com".utf8), alpn: [Array("h2".utf8), Array("http/1.1".utf8)],
            supportedVersions: [0x0304, 0x0303], signatureAlgorithms: [0x0403, 0x0804, 0x0401], hasECH: true))
        #expect(hello.offeredVersions == ["1.3", "1.2"])
    }

    @Test func greaseIsLeftOutOfEveryListButALPN() throws {
        let spec = HelloSpec(
            cipherSuites: [0x1A1A, 0x1301, 0xFAFA, 0x1302],
            extensions: [
                .opaque(0x0A0A), .serverName("a.example"),
                .supportedVersions([0x2A2A, 0x0304, 0x0303]),
                .signatureAlgorithms([0x0403, 0x3A3A, 0x0804]),
                .alpn([[0x4A, 0x4A], Array("h2".utf8)]),
                .opaque(0xBABA, [0]),
            ])
        let hello = try ClientHelloParser.parse(spec.message)
        #expect(hello.cipherSuites == [0x1301, 0x1302])
        #expect(hello.extensions == [0x0000, 0x002b, 0x000d, 0x0010])
        #expect(hello.supportedVersions == [0x0304, 0x0303])
        #expect(hello.signatureAlgorithms == [0x0403, 0x0804])
        #expect(hello.alpn == [[0x4A, 0x4A], Array("h2".utf8)])   // as sent: JA4 reads the first value
        // Almost-GREASE values stay: both bytes must be equal and end in A.
        let near = try ClientHelloParser.parse(HelloSpec(cipherSuites: [0x0A1A, 0x1A0A, 0x0B0B, 0xAAAA]).message)
        #expect(near.cipherSuites == [0x0A1A, 0x1A0A, 0x0B0B])
    }

    @Test func helloWithoutExtensions() throws {
        let bare = try ClientHelloParser.parse(HelloSpec(legacyVersion: 0x0301, sessionID: [], extensions: nil).message)
        #expect(bare == ClientHello(legacyVersion: 0x0301, cipherSuites: [0x1301, 0x1302, 0xc02b], extensions: [],
                                    serverName: nil, alpn: [], supportedVersions: [], signatureAlgorithms: [],
                                    hasECH: false))
        #expect(bare.offeredVersions == ["1.0"])
        // An empty extensions block (length 0) is the same hello.
        #expect(try ClientHelloParser.parse(HelloSpec(extensions: []).message) == bare.with(version: 0x0303))
    }

    @Test func encryptedClientHelloIsFlagged() throws {
        let spec = HelloSpec(extensions: [.serverName("public.example"), .opaque(0xfe0d, [0, 0, 1, 0, 1, 7, 0, 0, 0, 0])])
        let hello = try ClientHelloParser.parse(spec.message)
        #expect(hello.hasECH)
        #expect(hello.serverName == Array("public.example".utf8))
        #expect(try !ClientHelloParser.parse(HelloSpec().message).hasECH)
    }

    static let duplicates: [(String, [HelloExtension], UInt16)] = [
        ("server_name twice", [.serverName("a.example"), .serverName("b.example")], 0x0000),
        ("unknown twice", [.opaque(0x1234), .serverName("a.example"), .opaque(0x1234, [1])], 0x1234),
        ("GREASE twice", [.opaque(0x0A0A), .opaque(0x0A0A)], 0x0A0A),
        ("supported_versions twice", [.supportedVersions([0x0304]), .supportedVersions([0x0304])], 0x002b),
        // Past the short list's limit the check moves to a set: a repeat on either side of the switch.
        ("repeat of an early type after 100 others", [.opaque(0x7000)] + (1...100).map { .opaque(0x7000 + $0) } + [.opaque(0x7000)], 0x7000),
        ("repeat of a late type after 100 others", (0...100).map { .opaque(0x7000 + $0) } + [.opaque(0x7064)], 0x7064),
        ("repeat right at the switch", (0...SeenExtensions.listLimit).map { .opaque(0x7000 + UInt16($0)) } + [.opaque(0x7000 + UInt16(SeenExtensions.listLimit))],
         0x7000 + UInt16(SeenExtensions.listLimit)),
    ]

    @Test func manyDistinctExtensionsParse() throws {
        let extensions: [HelloExtension] = (0..<300).map { .opaque(0x7000 + $0) }
        #expect(try ClientHelloParser.parse(HelloSpec(extensions: extensions).message).extensions.count == 300)
    }

    @Test(arguments: duplicates)
    func duplicateExtensionThrows(_ name: String, _ extensions: [HelloExtension], _ type: UInt16) {
        #expect(parseHello(HelloSpec(extensions: extensions).message) == .failure(.duplicateExtension(type)), "\(name)")
    }

    @Test func serverNameEntries() throws {
        let host = Array("h.example".utf8)
        let cases: [(String, [(UInt8, [UInt8])], Result<[UInt8]?, ClientHelloError>)] = [
            ("host_name", [(0, host)], .success(host)),
            ("other type first", [(7, [1, 2]), (0, host)], .success(host)),
            ("other type only", [(7, [1, 2])], .success(nil)),
            ("two host_names", [(0, host), (0, host)], .failure(.invalidServerName("more than one host_name"))),
            ("empty host_name", [(0, [])], .failure(.invalidServerName("empty host_name"))),
            ("empty list", [], .failure(.invalidLength("server_name_list"))),
        ]
        for (name, entries, expected) in cases {
            let result = parseHello(HelloSpec(extensions: [.serverNameEntries(entries)]).message).map(\.serverName)
            #expect(result == expected, "\(name)")
        }
        // The server's form (empty extension_data) is not a client's.
        #expect(parseHello(HelloSpec(extensions: [.opaque(0x0000)]).message) == .failure(.truncated("server_name_list")))
    }

    static let malformedExtensions: [(String, HelloExtension, ClientHelloError)] = [
        ("empty ALPN list", .alpn([]), .invalidLength("protocol_name_list")),
        ("empty protocol name", .alpn([Array("h2".utf8), []]), .invalidLength("protocol_name")),
        ("ALPN without list", .opaque(0x0010), .truncated("protocol_name_list")),
        ("ALPN bytes after list", .opaque(0x0010, [0, 3, 2, 0x68, 0x32, 0]), .trailingBytes("extension 16")),
        ("odd supported_versions", .opaque(0x002b, [3, 3, 4, 3]), .invalidLength("supported_versions")),
        ("empty supported_versions", .supportedVersions([]), .invalidLength("supported_versions")),
        ("supported_versions bytes after list", .opaque(0x002b, [2, 3, 4, 0]), .trailingBytes("extension 43")),
        ("odd signature_algorithms", .opaque(0x000d, [0, 3, 4, 3, 8]), .invalidLength("signature_algorithms")),
        ("empty signature_algorithms", .signatureAlgorithms([]), .invalidLength("signature_algorithms")),
        ("extension_data past its block", .opaque(0x000d, [0, 4, 4, 3]), .truncated("signature_algorithms")),
    ]

    @Test(arguments: malformedExtensions)
    func malformedExtensionThrows(_ name: String, _ ext: HelloExtension, _ error: ClientHelloError) {
        #expect(parseHello(HelloSpec(extensions: [ext]).message) == .failure(error), "\(name)")
    }

    @Test func malformedFixedPartThrows() {
        let cases: [(String, HelloSpec, ClientHelloError)] = [
            ("session id of 33", HelloSpec(sessionID: [UInt8](repeating: 1, count: 33)), .invalidLength("legacy_session_id")),
            ("no cipher suites", HelloSpec(cipherSuites: []), .invalidLength("cipher_suites")),
            ("no compression method", HelloSpec(compressionMethods: []), .invalidLength("legacy_compression_methods")),
        ]
        for (name, spec, error) in cases {
            #expect(parseHello(spec.message) == .failure(error), "\(name)")
        }
        var odd = HelloSpec(extensions: nil).message
        odd.insert(0x13, at: 4 + 2 + 32 + 1 + 32 + 2)   // one more suite byte and a matching length...
        odd[4 + 2 + 32 + 1 + 32 + 1] += 1
        odd[3] += 1
        #expect(parseHello(odd) == .failure(.invalidLength("cipher_suites")))   // ...that is odd
        var serverHello = HelloSpec().message
        serverHello[0] = 2
        #expect(parseHello(serverHello) == .failure(.notClientHello("handshake type 2")))
        let trailing = HelloSpec().message + [0]
        #expect(parseHello(trailing) == .failure(.trailingBytes("handshake body")))
        // The same byte inside the body, after the extensions block.
        let inBody = [1, 0, UInt8((trailing.count - 4) >> 8), UInt8((trailing.count - 4) & 0xFF)] + trailing[4...]
        #expect(parseHello(inBody) == .failure(.trailingBytes("extensions")))
        #expect(parseHello([]) == .failure(.truncated("handshake type")))
    }

    /// Every length field, one at a time, one more and one less than the truth: always an error.
    @Test func everyLengthFieldOffByOneThrows() {
        var spec = HelloSpec()
        spec.extensions! += [.opaque(0x0023), .opaque(0xfe0d, [1]), .opaque(0x0A0A)]
        let writer = spec.writer
        #expect(writer.lengthFields.count == 21)
        #expect(parseHello(writer.bytes).isSuccess)
        for field in writer.lengthFields {
            for delta in [-1, 1] {
                var bytes = writer.bytes
                let value = bytes[field.offset..<(field.offset + field.size)].reduce(0) { $0 << 8 | Int($1) } + delta
                guard value >= 0 && value < 1 << (8 * field.size) else { continue }
                for k in 0..<field.size { bytes[field.offset + k] = UInt8(truncatingIfNeeded: value >> (8 * (field.size - 1 - k))) }
                #expect(!parseHello(bytes).isSuccess, "\(field) \(delta > 0 ? "+1" : "-1")")
            }
        }
    }

    @Test func everyTruncationThrows() {
        let message = HelloSpec().message
        for end in 0..<message.count {
            #expect(!parseHello(Array(message[..<end])).isSuccess, "cut at \(end)")
        }
    }

    @Test func errorsAreOneShortLine() {
        let errors: [ClientHelloError] = [.notClientHello("handshake type 2"), .truncated("random"),
                                          .trailingBytes("extensions"), .invalidLength("cipher_suites"),
                                          .duplicateExtension(0), .invalidServerName("empty host_name")]
        for error in errors {
            #expect(!error.description.isEmpty && !error.description.contains("\n"), "\(error)")
        }
        #expect(ClientHelloError.duplicateExtension(43).description == "ClientHello repeats extension 43")
    }
}

fileprivate extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

fileprivate extension ClientHello {
    func with(version: UInt16) -> ClientHello {
        var copy = self
        copy.legacyVersion = version
        return copy
    }
}

/// First flights captured from real clients against a listener that answered nothing (records as sent).
struct RecordedFirstFlight: Sendable, CustomStringConvertible {
    var description: String
    var records: [UInt8]
    var serverName: String
    var alpn: [String]
    var cipherCount: Int
    var extensions: [UInt16]
    var supportedVersions: [UInt16]

    static let all: [RecordedFirstFlight] = [
        // curl 8 (OpenSSL 3.0) --http2 https://localhost/: 517 bytes with a padding extension (0x0015).
        RecordedFirstFlight(description: "curl --http2", records: hexBytes(
            "1603010200010001fc0303d2d12a41429b739aa15246bfd6ebd347c115dda9b9f47f4a1ef10ee8e680c9b3206c87488871f75572b15616f4"
            + "e2325831e7c342b62cf3b436dde36c161c223561003e130213031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c027"
            + "0067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010001750000000e000c0000096c6f63616c686f7374000b00040300"
            + "0102000a00160014001d0017001e00190018010001010102010301040010000e000c02683208687474702f312e3100160000001700000031"
            + "0000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b000908030403"
            + "0303020301002d00020101003300260024001d0020f02fae3c98d023b07397f0c00ef2896d45a2a7da823a6da65eb8d5585704a541001500"
            + "b4" + String(repeating: "00", count: 180)),
            serverName: "localhost", alpn: ["h2", "http/1.1"], cipherCount: 31,
            extensions: [0x0000, 0x000b, 0x000a, 0x0010, 0x0016, 0x0017, 0x0031, 0x000d, 0x002b, 0x002d, 0x0033, 0x0015],
            supportedVersions: [0x0304, 0x0303, 0x0302, 0x0301]),
        // openssl s_client -tls1_2 -no_ticket: no supported_versions, no session id.
        RecordedFirstFlight(description: "openssl s_client -tls1_2", records: hexBytes(
            "16030100cb010000c703030794b920f4ac67b1855ca2c9745c4346b4272377b33be548820b61568a59d0f4000038c02cc030009fcca9cca8"
            + "ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000066000000140012"
            + "00000f7777772e6578616d706c652e6f7267000b000403000102000a000c000a001d0017001e001900180016000000170000000d002a0028"
            + "040305030603080708080809080a080b080408050806040105010601030303010302040205020602"),
            serverName: "www.example.org", alpn: [], cipherCount: 28,
            extensions: [0x0000, 0x000b, 0x000a, 0x0016, 0x0017, 0x000d], supportedVersions: []),
        // Python 3 ssl (OpenSSL 3.0), ALPN http/1.1, TLS 1.2 and 1.3 only.
        RecordedFirstFlight(description: "python ssl", records: hexBytes(
            "1603010200010001fc0303af5ad36b2a064ba645d63f3ba96598984ad672e0ef0f42330ae7a1afd9161b5e20557d3d53302da3789b6608e7"
            + "f871f6dfbde25fdeddd24025e6205b839244c1a40024130213031301c02cc030c02bc02fcca9cca8c024c028c023c027009f009e006b0067"
            + "00ff0100018f00000013001100000e707974686f6e2e6578616d706c65000b000403000102000a00160014001d0017001e00190018010001"
            + "01010201030104002300000010000b000908687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b"
            + "080408050806040105010601030303010302040205020602002b00050403040303002d00020101003300260024001d002022bdca7e5029f4"
            + "964f33f139b84aeae652d822d7dffc8e99d0ddc037f319c45e001500d0" + String(repeating: "00", count: 208)),
            serverName: "python.example", alpn: ["http/1.1"], cipherCount: 18,
            extensions: [0x0000, 0x000b, 0x000a, 0x0023, 0x0010, 0x0016, 0x0017, 0x000d, 0x002b, 0x002d, 0x0033, 0x0015],
            supportedVersions: [0x0304, 0x0303]),
    ]
}

@Suite struct RecordedFirstFlightTests {
    @Test(arguments: RecordedFirstFlight.all)
    func recordedFirstFlightReassemblesAndParses(_ captured: RecordedFirstFlight) throws {
        var reassembler = HelloReassembler()
        guard case .complete(let message) = reassembler.append(captured.records) else {
            Issue.record("\(captured): \(reassembler.status) \(reassembler.failureReason ?? "")")
            return
        }
        #expect(reassembler.helloEnd == captured.records.count)
        let hello = try ClientHelloParser.parse(message)
        #expect(hello.legacyVersion == 0x0303)
        #expect(hello.serverName == Array(captured.serverName.utf8))
        #expect(hello.alpn == captured.alpn.map { Array($0.utf8) })
        #expect(hello.cipherSuites.count == captured.cipherCount)
        #expect(hello.extensions == captured.extensions)
        #expect(hello.supportedVersions == captured.supportedVersions)
        #expect(hello.signatureAlgorithms.prefix(3) == [0x0403, 0x0503, 0x0603])
        #expect(!hello.hasECH)
    }
}
