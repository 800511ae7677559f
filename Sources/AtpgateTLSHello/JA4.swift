/// JA4, the TLS client fingerprint of the access log's `tls.ja4` (issue 10).
///
/// JA4 is FoxIO's method (https://github.com/FoxIO-LLC/ja4, technical_details/JA4.md; JA4 alone is
/// under the BSD 3-Clause licence, the other JA4+ methods are not, so only JA4 is here). This is an
/// implementation written from that specification, not a port of FoxIO's code. Where FoxIO's
/// reference tools and the specification differ, the specification wins (see `alpnCharacters`).
///
/// A fingerprint is `a_b_c`:
/// - a: transport (`t`/`q`/`d`), version (`13`…), `d` with SNI or `i` without, the cipher count and
///   the extension count (two digits each, at most 99), and two characters from the first ALPN value;
/// - b: the first 12 hex digits of SHA-256 over the sorted cipher suites, as 4-digit hex joined by ",";
/// - c: the same over the sorted extensions less SNI and ALPN, then "_" and the signature algorithms
///   in the order offered (no "_" when there are none).
/// GREASE values (RFC 8701) count nowhere. `ClientHelloParser` already leaves them out; they are
/// dropped here again so that a hand-built `ClientHello` gets the specified fingerprint too.
public enum JA4 {
    /// What carried the hello: the fingerprint's first character.
    public enum Transport: Sendable, Equatable {
        /// TLS over TCP: "t". The only one the proxy sees (CONNECT tunnels).
        case tcp
        /// QUIC: "q".
        case quic
        /// DTLS: "d".
        case dtls
    }

    /// The JA4 fingerprint, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    public static func fingerprint(_ hello: ClientHello, transport: Transport = .tcp) -> String {
        // The proxy computes this for every peeked tunnel, so it is written into one 36-byte string with
        // the sorted lists, their text and the hashing on the stack: one heap allocation per fingerprint
        // (a String per hex digit was once most of the peek's cost; `raw` keeps the readable form).
        let ciphers = withoutGrease(hello.cipherSuites)
        let extensions = withoutGrease(hello.extensions)
        let signatures = withoutGrease(hello.signatureAlgorithms)
        return String(unsafeUninitializedCapacity: length) { out in
            var index = 0
            func put(_ byte: UInt8) { out[index] = byte; index += 1 }
            func put(_ text: StaticString) {
                text.withUTF8Buffer { for byte in $0 { put(byte) } }
            }
            put(transportByte(transport))
            put(versionCharacters(hello))
            put(extensions.contains(0x0000) ? UInt8(ascii: "d") : UInt8(ascii: "i"))
            func putCount(_ count: Int) {
                put(0x30 + UInt8(min(count, 99) / 10))
                put(0x30 + UInt8(min(count, 99) % 10))
            }
            putCount(ciphers.count)
            putCount(extensions.count)
            for byte in alpnCharacters(hello.alpn.first).utf8 { put(byte) }
            put(UInt8(ascii: "_"))
            ciphers.withUnsafeBufferPointer { list in
                writeHash12(sorting: list, excluding: [], then: nil, to: out, at: &index)
            }
            put(UInt8(ascii: "_"))
            extensions.withUnsafeBufferPointer { list in
                signatures.withUnsafeBufferPointer { signatures in
                    writeHash12(sorting: list, excluding: sniAndALPN, then: signatures, to: out, at: &index)
                }
            }
            return index
        }
    }

    /// JA4_c leaves out server_name and ALPN (the a part already reflects them).
    static let sniAndALPN: [UInt16] = [0x0000, 0x0010]

    /// Every fingerprint's length: a (10) "_" b (12) "_" c (12).
    static let length = 36

    /// `values` without GREASE; the same array (no copy) when it holds none, as parsed lists never do.
    static func withoutGrease(_ values: [UInt16]) -> [UInt16] {
        values.contains(where: ClientHello.isGrease) ? values.filter { !ClientHello.isGrease($0) } : values
    }

    /// Writes the first 12 hex digits of the SHA-256 of "v1,v2,…" — `values` less `excluded`, sorted — and,
    /// when `then` holds any values, "_" and those in their order; twelve "0" when the sorted list is
    /// empty (then `then` is not looked at: JA4_c is zeros without extensions). Sorting the numbers sorts
    /// their fixed-width hex the same way ("sorted in hex order").
    static func writeHash12(sorting values: UnsafeBufferPointer<UInt16>, excluding excluded: [UInt16],
                            then: UnsafeBufferPointer<UInt16>?, to out: UnsafeMutableBufferPointer<UInt8>,
                            at index: inout Int) {
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: max(values.count, 1)) { sorted in
            var count = 0
            for value in values where !excluded.contains(value) {
                sorted[count] = value
                count += 1
            }
            var list = UnsafeMutableBufferPointer(rebasing: sorted[0..<count])
            guard count > 0 else {
                for _ in 0..<12 { out[index] = UInt8(ascii: "0"); index += 1 }
                return
            }
            list.sort()
            let extra = then.map { $0.isEmpty ? 0 : 1 + 5 * $0.count - 1 } ?? 0
            let textLength = 5 * count - 1 + extra
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: textLength) { text in
                var position = 0
                func putHex(_ list: UnsafeBufferPointer<UInt16>) {
                    for (offset, value) in list.enumerated() {
                        if offset > 0 { text[position] = UInt8(ascii: ","); position += 1 }
                        for shift in stride(from: 12, through: 0, by: -4) {
                            text[position] = hexByte(UInt8(truncatingIfNeeded: value >> UInt16(shift)) & 0xF)
                            position += 1
                        }
                    }
                }
                putHex(UnsafeBufferPointer(list))
                if let then, !then.isEmpty {
                    text[position] = UInt8(ascii: "_")
                    position += 1
                    putHex(then)
                }
                withUnsafeTemporaryAllocation(byteCount: 6, alignment: 1) { digest in
                    SHA256.digest(of: UnsafeRawBufferPointer(text), into: digest)
                    for byte in digest {
                        out[index] = hexByte(byte >> 4)
                        out[index + 1] = hexByte(byte & 0xF)
                        index += 2
                    }
                }
            }
        }
    }

    static func hexByte(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10
    }

    public static func raw(_ hello: ClientHello, transport: Transport = .tcp) -> String {
        let parts = Parts(hello, transport: transport)
        return "\(parts.a)_\(parts.ciphers.joined(separator: ","))_\(parts.extensionsAndSignatures)"
    }

    /// The fields of JA4 and JA4_r before the b and c parts are hashed.
    struct Parts {
        /// JA4_a, e.g. `t13d1516h2`.
        var a: String
        /// Cipher suites as 4-digit lower-case hex, sorted.
        var ciphers: [String]
        /// Extensions as 4-digit lower-case hex, sorted, without SNI (0000) and ALPN (0010).
        var extensions: [String]
        /// Signature algorithms as 4-digit lower-case hex, in the order offered.
        var signatureAlgorithms: [String]

        init(_ hello: ClientHello, transport: Transport) {
            let ciphers = hello.cipherSuites.filter { !ClientHello.isGrease($0) }
            let extensions = hello.extensions.filter { !ClientHello.isGrease($0) }
            // "If the SNI extension (0x0000) exists": the extension decides, not whether it held a
            // usable host_name.
            let sni = extensions.contains(0x0000) ? "d" : "i"
            // Both counts include SNI and ALPN (only c leaves them out).
            a = JA4.transportCharacter(transport) + JA4.version(hello) + sni
                + JA4.count(ciphers.count) + JA4.count(extensions.count) + JA4.alpnCharacters(hello.alpn.first)
            // Sorting the numbers sorts their fixed-width hex the same way ("sorted in hex order").
            self.ciphers = ciphers.sorted().map(JA4.hex4)
            self.extensions = extensions.filter { $0 != 0x0000 && $0 != 0x0010 }.sorted().map(JA4.hex4)
            signatureAlgorithms = hello.signatureAlgorithms.filter { !ClientHello.isGrease($0) }.map(JA4.hex4)
        }

        /// What JA4_c hashes: the extension list, then "_" and the signature algorithms only when
        /// there are any ("If there are no signature algorithms in the hello packet, then the string
        /// ends without an underscore").
        var extensionsAndSignatures: String {
            let list = extensions.joined(separator: ",")
            return signatureAlgorithms.isEmpty ? list : list + "_" + signatureAlgorithms.joined(separator: ",")
        }
    }

    /// What JA4_b and JA4_c are for an empty list, instead of a hash of nothing, so that "no values"
    /// is visible in the fingerprint.
    static let zeros = "000000000000"

    static func hash12(_ text: String) -> String {
        String(SHA256.hexDigest(text.utf8).prefix(12))
    }

    static func transportByte(_ transport: Transport) -> UInt8 {
        switch transport {
        case .tcp: return UInt8(ascii: "t")
        case .quic: return UInt8(ascii: "q")
        case .dtls: return UInt8(ascii: "d")
        }
    }

    static func transportCharacter(_ transport: Transport) -> String {
        String(decoding: [transportByte(transport)], as: UTF8.self)
    }

    /// The highest supported_versions entry when the extension offers any, else legacy_version (the
    /// record layer's version is never looked at), as the specification's two characters.
    static func versionCharacters(_ hello: ClientHello) -> StaticString {
        let version = hello.supportedVersions.lazy.filter { !ClientHello.isGrease($0) }.max() ?? hello.legacyVersion
        switch version {
        case 0x0304: return "13"
        case 0x0303: return "12"
        case 0x0302: return "11"
        case 0x0301: return "10"
        case 0x0300: return "s3"
        case 0x0002: return "s2"
        case 0xFEFF: return "d1"
        case 0xFEFD: return "d2"
        case 0xFEFC: return "d3"
        default: return "00"
        }
    }

    static func version(_ hello: ClientHello) -> String {
        "\(versionCharacters(hello))"
    }

    /// Two decimal digits, capped at 99.
    static func count(_ n: Int) -> String {
        let n = min(n, 99)
        return n < 10 ? "0\(n)" : "\(n)"
    }

    /// The first and last characters of the first ALPN value; "00" when there is no ALPN value or the
    /// first is empty; a one-byte value gives its character twice. When the first or the last byte is
    /// not an ASCII letter or digit, the first and last hex digits of the whole value instead
    /// (0xAB 0xCD gives "ad", 0x30 0xAB gives "3b").
    ///
    /// That hex rule is the specification's (JA4.md, "ALPN Extension Value", since August 2024).
    /// FoxIO's reference tools still print "99" for a non-ASCII first byte (the Python tool, the Rust
    /// tool and the Wireshark plugin, checked at the repository's June 2026 snapshot); issue 10 asks
    /// for the specification.
    static func alpnCharacters(_ first: [UInt8]?) -> String {
        guard let value = first, let head = value.first, let tail = value.last else { return "00" }
        if isAlphanumeric(head) && isAlphanumeric(tail) {
            return String(decoding: [head, tail], as: UTF8.self)
        }
        // The first hex digit of the value is the first byte's high nibble, the last its last byte's low.
        return hexDigit(head >> 4) + hexDigit(tail & 0x0F)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    /// Four lower-case hex digits ("All sha256 functions must output in lower case", and FoxIO's
    /// lists are lower case too: `c02b`, not `C02B`).
    static func hex4(_ value: UInt16) -> String {
        hexDigit(UInt8(value >> 12)) + hexDigit(UInt8(value >> 8 & 0xF)) + hexDigit(UInt8(value >> 4 & 0xF))
            + hexDigit(UInt8(value & 0xF))
    }

    static func hexDigit(_ nibble: UInt8) -> String {
        String(decoding: [nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10], as: UTF8.self)
    }
}
