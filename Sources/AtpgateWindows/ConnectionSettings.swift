/// Which registry value a settings blob is: they share a layout, not a version or a tail.
public enum SettingsKind: String, Sendable, CaseIterable {
    /// `DefaultConnectionSettings` under `...\Internet Settings\Connections` (per user; the
    /// sensor runs as SYSTEM and LocalService, hence HKU\S-1-5-18 and HKU\S-1-5-19).
    case wininet
    /// `WinHttpSettings` under HKLM (`netsh winhttp set proxy`): no PAC URL and no trailer.
    case winhttp

    public var valueName: String {
        switch self {
        case .wininet: return "DefaultConnectionSettings"
        case .winhttp: return "WinHttpSettings"
        }
    }
}

/// The connection flags at offset 8.
public struct ConnectionFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let direct = ConnectionFlags(rawValue: 0x01)
    public static let proxy = ConnectionFlags(rawValue: 0x02)
    public static let autoConfigURL = ConnectionFlags(rawValue: 0x04)
    public static let autoDetect = ConnectionFlags(rawValue: 0x08)
    /// Bits this codec can name; others are kept and reported as a warning.
    public static let known: ConnectionFlags = [.direct, .proxy, .autoConfigURL, .autoDetect]

    /// "direct, proxy, auto-config URL, auto-detect" (and any unknown bits in hex).
    public var names: [String] {
        var result: [String] = []
        if contains(.direct) { result.append("direct") }
        if contains(.proxy) { result.append("proxy") }
        if contains(.autoConfigURL) { result.append("auto-config URL") }
        if contains(.autoDetect) { result.append("auto-detect") }
        let unknown = rawValue & ~ConnectionFlags.known.rawValue
        if unknown != 0 { result.append("unknown 0x" + Hex.word(unknown)) }
        return result
    }
}

/// One `DefaultConnectionSettings` or `WinHttpSettings` blob. The layout is undocumented;
/// Windows, Wine and .NET's reference source agree on it: little-endian 32-bit version, change
/// counter and flags, then length-prefixed ASCII strings (proxy server, bypass list and, for
/// WinINET only, the auto-config URL), then a trailer WinINET keeps detection state in.
///
/// A decoded value re-encodes to the very bytes it came from: nothing is normalised, and the
/// trailer is carried opaque, because settings written back must not lose what Windows put there.
public struct ConnectionSettings: Sendable, Equatable {
    public var kind: SettingsKind
    /// 0x46 (IE7 and later) or 0x3C (IE5/6) for WinINET; 0x28 (0x18 after `netsh winhttp reset proxy`) for WinHTTP.
    public var version: UInt32
    /// Windows bumps it on every change; a reader that sees the same counter may skip a re-read.
    public var counter: UInt32
    public var flags: ConnectionFlags
    /// `host:port` or `http=h:p;https=h:p`; empty when unset.
    public var proxyServer: String
    /// `<local>;*.corp.example`; empty when unset.
    public var bypassList: String
    /// The PAC URL (WinINET only; always empty for WinHTTP).
    public var autoConfigURL: String
    /// Everything after the last string, byte for byte.
    public var trailer: [UInt8]

    public static let wininetVersions: [UInt32] = [0x46, 0x3C]
    public static let winhttpVersions: [UInt32] = [0x28, 0x18]

    public init(kind: SettingsKind, version: UInt32? = nil, counter: UInt32 = 1, flags: ConnectionFlags,
                proxyServer: String = "", bypassList: String = "", autoConfigURL: String = "", trailer: [UInt8]? = nil) {
        self.kind = kind
        let version = version ?? (kind == .wininet ? 0x46 : 0x28)
        self.version = version
        self.counter = counter
        self.flags = flags
        self.proxyServer = proxyServer
        self.bypassList = bypassList
        self.autoConfigURL = autoConfigURL
        self.trailer = trailer ?? [UInt8](repeating: 0, count: ConnectionSettings.expectedTrailerLength(kind: kind, version: version))
    }

    /// What Windows writes after the strings: 32 zero bytes for 0x46, 28 for 0x3C, none for WinHTTP.
    public static func expectedTrailerLength(kind: SettingsKind, version: UInt32) -> Int {
        guard kind == .wininet else { return 0 }
        return version == 0x3C ? 28 : 32
    }

    /// Things a reader should know but that do not make the blob unusable: the trailer is opaque
    /// (WinINET keeps auto-detection results there), so it is reported, never rejected.
    public var warnings: [String] {
        var result: [String] = []
        let expected = ConnectionSettings.expectedTrailerLength(kind: kind, version: version)
        if trailer.count != expected {
            result.append("trailer is \(trailer.count) bytes, expected \(expected) for version 0x\(Hex.word(version)) (kept as is)")
        }
        if let index = trailer.firstIndex(where: { $0 != 0 }) {
            result.append("trailer has non-zero bytes from offset \(index) of the trailer (detection state?; kept as is)")
        }
        let unknown = flags.rawValue & ~ConnectionFlags.known.rawValue
        if unknown != 0 { result.append("unknown flag bits 0x\(Hex.word(unknown))") }
        if flags.contains(.proxy) && proxyServer.isEmpty { result.append("the proxy flag is set but the proxy server is empty") }
        if flags.contains(.autoConfigURL) && autoConfigURL.isEmpty {
            result.append("the auto-config flag is set but the auto-config URL is empty")
        }
        return result
    }
}
