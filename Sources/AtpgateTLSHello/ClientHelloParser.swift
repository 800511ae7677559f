/// Parses a ClientHello handshake message (as `HelloReassembler` returns it: type, 3-byte length, body)
/// into what the proxy logs and checks. Hand-written and iterative: every length is checked against the
/// block that holds it, every block must be consumed exactly, and nothing traps on any input (the
/// bytes come from an unauthenticated client). Field layout: RFC 8446 §4.1.2 (RFC 5246 §7.4.1.2).
public enum ClientHelloParser {
    static let handshakeTypeClientHello: UInt8 = 1
    static let randomLength = 32

    public static func parse(_ handshakeMessage: [UInt8]) throws(ClientHelloError) -> ClientHello {
        var message = ClientHelloReader(handshakeMessage)
        let type = try message.uint8("handshake type")
        guard type == handshakeTypeClientHello else { throw .notClientHello("handshake type \(type)") }
        let length = try message.uint24("handshake length")
        guard length <= message.remaining else { throw .truncated("handshake body") }
        guard length == message.remaining else { throw .trailingBytes("handshake body") }

        let legacyVersion = try message.uint16("legacy_version")
        try message.skip(randomLength, "random")
        _ = try message.lengthPrefixed(1, allowed: 0...32, "legacy_session_id")
        var suites = try message.lengthPrefixed(2, allowed: 2...0xFFFE, "cipher_suites")
        let cipherSuites = try uint16List(&suites, "cipher_suites")
        _ = try message.lengthPrefixed(1, allowed: 1...0xFF, "legacy_compression_methods")

        var hello = ClientHello(legacyVersion: legacyVersion, cipherSuites: cipherSuites, extensions: [],
                                serverName: nil, alpn: [], supportedVersions: [], signatureAlgorithms: [],
                                hasECH: false)
        // TLS 1.2 (RFC 5246 §7.4.1.2) lets a client end the hello after the compression methods; TLS 1.3
        // clients always send extensions, and the version check is the server's business, not ours.
        guard !message.isAtEnd else { return hello }
        var extensions = try message.lengthPrefixed(2, allowed: 0...0xFFFF, "extensions")
        try message.expectEnd("extensions")
        try parseExtensions(&extensions, into: &hello)
        return hello
    }

    static let serverName: UInt16 = 0x0000
    static let signatureAlgorithms: UInt16 = 0x000d
    static let alpn: UInt16 = 0x0010
    static let supportedVersions: UInt16 = 0x002b
    static let encryptedClientHello: UInt16 = 0xfe0d

    private static func parseExtensions(_ block: inout ClientHelloReader, into hello: inout ClientHello)
        throws(ClientHelloError) {
        var seen = SeenExtensions()
        while !block.isAtEnd {
            let type = try block.uint16("extension type")
            var data = try block.lengthPrefixed(2, allowed: 0...0xFFFF, "extension_data")
            // Duplicates count on the raw type, GREASE included: RFC 8446 §4.2 forbids any repeat.
            guard seen.insert(type) else { throw .duplicateExtension(type) }
            if !ClientHello.isGrease(type) { hello.extensions.append(type) }
            switch type {
            case serverName:
                hello.serverName = try hostName(&data)
            case alpn:
                hello.alpn = try protocolNames(&data)
            case supportedVersions:
                var list = try data.lengthPrefixed(1, allowed: 2...254, "supported_versions")
                hello.supportedVersions = try uint16List(&list, "supported_versions")
            case signatureAlgorithms:
                var list = try data.lengthPrefixed(2, allowed: 2...0xFFFE, "signature_algorithms")
                hello.signatureAlgorithms = try uint16List(&list, "signature_algorithms")
            case encryptedClientHello:
                // Its content is encrypted for the server; only its presence matters to the log.
                hello.hasECH = true
                data.skipRest()
            default:
                data.skipRest()
            }
            guard data.isAtEnd else { throw .trailingBytes("extension \(type)") }
        }
    }

    /// RFC 6066 §3: server_name_list<1..2^16-1> of (name_type, HostName<1..2^16-1>). Only host_name (0) is
    /// defined; entries of other types are skipped as length-prefixed (as Go's crypto/tls does) rather than
    /// refused. Two host_names are forbidden ("MUST NOT contain more than one name of the same name_type").
    private static func hostName(_ data: inout ClientHelloReader) throws(ClientHelloError) -> [UInt8]? {
        var list = try data.lengthPrefixed(2, allowed: 1...0xFFFF, "server_name_list")
        var host: [UInt8]?
        while !list.isAtEnd {
            let nameType = try list.uint8("server_name name_type")
            var name = try list.lengthPrefixed(2, allowed: 0...0xFFFF, "server_name name")
            guard nameType == 0 else { continue }
            guard host == nil else { throw .invalidServerName("more than one host_name") }
            guard !name.isAtEnd else { throw .invalidServerName("empty host_name") }
            host = name.rest()
        }
        return host
    }

    /// RFC 7301 §3.1: protocol_name_list<2..2^16-1> of ProtocolName<1..2^8-1>, kept as sent (GREASE
    /// names too: JA4 takes the first value as the client wrote it).
    private static func protocolNames(_ data: inout ClientHelloReader) throws(ClientHelloError) -> [[UInt8]] {
        var list = try data.lengthPrefixed(2, allowed: 2...0xFFFF, "protocol_name_list")
        var names: [[UInt8]] = []
        while !list.isAtEnd {
            var name = try list.lengthPrefixed(1, allowed: 1...0xFF, "protocol_name")
            names.append(name.rest())
        }
        return names
    }

    /// A block of big-endian UInt16 values (its length must be even), GREASE values left out.
    private static func uint16List(_ list: inout ClientHelloReader, _ field: String) throws(ClientHelloError)
        -> [UInt16] {
        guard list.remaining % 2 == 0 else { throw .invalidLength(field) }
        var values: [UInt16] = []
        values.reserveCapacity(list.remaining / 2)
        while !list.isAtEnd {
            let value = try list.uint16(field)
            if !ClientHello.isGrease(value) { values.append(value) }
        }
        return values
    }
}

/// The extension types met so far, for the duplicate check. A real hello has a few dozen: a short list
/// scanned linearly (no hashing, no allocation beyond the list); a hostile one may hold thousands of
/// empty extensions, so past `listLimit` types a set takes over and the check stays linear overall.
struct SeenExtensions {
    static let listLimit = 64
    private var list: [UInt16] = []
    private var set: Set<UInt16>?

    /// False when `type` was seen before.
    mutating func insert(_ type: UInt16) -> Bool {
        if set != nil { return set!.insert(type).inserted }
        if list.contains(type) { return false }
        list.append(type)
        if list.count > Self.listLimit {
            set = Set(list)
            list = []
        }
        return true
    }
}
