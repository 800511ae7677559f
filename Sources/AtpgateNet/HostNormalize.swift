/// Host normalisation: one canonical spelling per destination, and a refusal for every
/// spelling that resolvers or HTTP stacks read differently (numeric shorthands, percent
/// escapes, userinfo, zone ids). Anything ambiguous is an error rather than a guess.
extension Host {
    /// Normalise a host as a client sent it (CONNECT authority host, or the host of an absolute URL).
    public static func normalize(_ raw: some StringProtocol) throws(HostError) -> Host {
        let text = String(raw)
        let shown = HostText.quoted(text)
        guard !text.isEmpty else { throw HostError(reason: "empty host") }
        if text.utf8.first == UInt8(ascii: "[") {
            return try bracketed(text, shown: shown)
        }
        guard !text.contains("@") else { throw HostError(reason: "userinfo is not allowed in host \(shown)") }
        guard !text.contains("%") else { throw HostError(reason: "percent-encoding is not allowed in host \(shown)") }
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else {
            throw HostError(reason: "non-ASCII host \(shown) (use punycode)")
        }
        if text.contains(":") {
            let why = IPAddress(text) != nil ? "IPv6 literal \(shown) must be in brackets" : "invalid character ':' in host \(shown)"
            throw HostError(reason: why)
        }
        if let v4 = IPAddress.parseDottedQuad(Array(text.utf8)[...]) { return .ip(.v4(v4)) }
        return .name(try validatedName(text, shown: shown))
    }

    private static func bracketed(_ text: String, shown: String) throws(HostError) -> Host {
        guard text.utf8.count >= 2, text.utf8.last == UInt8(ascii: "]") else {
            throw HostError(reason: "unterminated '[' in host \(shown)")
        }
        // Strip the brackets as bytes: dropFirst() on the String would drop a whole grapheme cluster, so
        // "[" + U+0301 + "::1]" would lose its combining mark with the bracket and pass as ::1.
        let inner = Substring(text.utf8.dropFirst().dropLast())
        guard !inner.contains("%") else { throw HostError(reason: "IPv6 zone id is not allowed in host \(shown)") }
        guard let address = IPAddress(inner), !address.isIPv4 else {
            throw HostError(reason: "invalid IPv6 literal \(shown)")
        }
        return .ip(address)
    }

    /// Lower-cases, strips one trailing dot and checks DNS limits and characters.
    /// Input is already known to be ASCII without '@', '%' or ':'.
    private static func validatedName(_ text: String, shown: String) throws(HostError) -> String {
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let labels = Array(name.utf8).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.allSatisfy({ !$0.isEmpty }) else { throw HostError(reason: "empty label in host \(shown)") }
        guard name.utf8.count <= 253 else { throw HostError(reason: "host name longer than 253 octets") }
        for label in labels {
            guard label.count <= 63 else { throw HostError(reason: "label longer than 63 octets in host \(shown)") }
            if let bad = label.first(where: { !isNameByte($0) }) {
                let char = HostText.quoted(String(decoding: [bad], as: UTF8.self))
                throw HostError(reason: "invalid character \(char) in host \(shown)")
            }
        }
        if let last = labels.last, looksNumeric(last) {
            throw HostError(reason: "numeric host \(shown) is not a dotted quad")
        }
        return name
    }

    /// Letters, digits, hyphen, underscore (underscore appears in real service names).
    private static func isNameByte(_ byte: UInt8) -> Bool {
        IPAddress.isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    /// The WHATWG "ends in a number" test: a last label of all digits or "0x" + hex makes
    /// resolvers parse the whole host as an IPv4 shorthand (127.1, 0x7f000001, ...).
    private static func looksNumeric(_ label: ArraySlice<UInt8>) -> Bool {
        if label.allSatisfy(IPAddress.isDigit) { return true }
        guard label.count >= 2, label.first == UInt8(ascii: "0"),
              label.dropFirst().first == UInt8(ascii: "x") else { return false }
        return label.dropFirst(2).allSatisfy { IPAddress.hexValue($0) != nil }
    }
}

/// Renders untrusted text inside an error reason: quoted, control and non-ASCII
/// characters escaped, and cut short, so a reason always stays one short line.
public enum HostText {
    public static func quoted(_ text: String, limit: Int = 80) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "'" && scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                out += scalar.escaped(asASCII: true)
            }
        }
        if text.unicodeScalars.count > limit { out += "..." }
        return "'\(out)'"
    }
}
