extension ConnectionSettings {
    /// Decodes a blob. With `kind`, the version must be that kind's; without, the version picks it.
    public init(decoding bytes: [UInt8], as kind: SettingsKind? = nil) throws(ConnectionSettingsError) {
        var reader = BlobReader(bytes: bytes)
        let version = try reader.word("version")
        let detected: SettingsKind
        if ConnectionSettings.wininetVersions.contains(version) {
            detected = .wininet
        } else if ConnectionSettings.winhttpVersions.contains(version) {
            detected = .winhttp
        } else {
            throw .unknownVersion(version, expected: kind)
        }
        if let kind, kind != detected { throw .unknownVersion(version, expected: kind) }
        let counter = try reader.word("change counter")
        let flags = ConnectionFlags(rawValue: try reader.word("flags"))
        let proxy = try reader.string("proxy server")
        let bypass = try reader.string("bypass list")
        let pac = detected == .wininet ? try reader.string("auto-config URL") : ""
        self.init(kind: detected, version: version, counter: counter, flags: flags, proxyServer: proxy,
                  bypassList: bypass, autoConfigURL: pac, trailer: Array(bytes[reader.offset...]))
    }

    /// The blob's bytes. Fails only on values Windows cannot hold: non-ASCII text, or a PAC URL
    /// in WinHTTP settings (which have no field for it).
    public func encoded() throws(ConnectionSettingsError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24 + proxyServer.utf8.count + bypassList.utf8.count + autoConfigURL.utf8.count + trailer.count)
        func word(_ value: UInt32) {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        }
        func string(_ text: String, _ field: String) throws(ConnectionSettingsError) {
            let bytes = Array(text.utf8)
            if let index = bytes.firstIndex(where: { $0 >= 0x80 }) {
                throw .nonASCII(field: field, offset: out.count + 4 + index, byte: bytes[index])
            }
            word(UInt32(bytes.count))
            out += bytes
        }
        word(version)
        word(counter)
        word(flags.rawValue)
        try string(proxyServer, "proxy server")
        try string(bypassList, "bypass list")
        switch kind {
        case .wininet: try string(autoConfigURL, "auto-config URL")
        case .winhttp where !autoConfigURL.isEmpty: throw .unsupported("WinHTTP settings have no auto-config URL")
        case .winhttp: break
        }
        out += trailer
        return out
    }
}

/// Reads the blob front to back, turning every shortfall into an error with its offset.
struct BlobReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func word(_ field: String) throws(ConnectionSettingsError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw .truncated(field: field, offset: offset, available: bytes.count - offset) }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << UInt32(8 * index) }
        offset += 4
        return value
    }

    mutating func string(_ field: String) throws(ConnectionSettingsError) -> String {
        let lengthOffset = offset
        let length = try word("\(field) length")
        let remaining = bytes.count - offset
        guard UInt64(length) <= UInt64(remaining) else {
            throw .lengthBeyondEnd(field: field, offset: lengthOffset, length: length, remaining: remaining)
        }
        let slice = bytes[offset..<(offset + Int(length))]
        if let index = slice.firstIndex(where: { $0 >= 0x80 }) {
            throw .nonASCII(field: field, offset: index, byte: bytes[index])
        }
        offset += Int(length)
        return String(decoding: slice, as: UTF8.self)
    }
}
