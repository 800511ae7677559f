/// One REG_BINARY value: the full key path (`HKEY_USERS\S-1-5-18\...`), the value name and its bytes.
public struct RegistryValue: Sendable, Equatable {
    public var key: String
    public var name: String
    public var bytes: [UInt8]

    public init(key: String, name: String, bytes: [UInt8]) {
        self.key = key
        self.name = name
        self.bytes = bytes
    }
}

extension SettingsKind {
    static let connectionsPath = #"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"#

    /// Where the value goes. WinINET settings are per user, and the sensor's services run as
    /// LocalSystem (S-1-5-18) and LocalService (S-1-5-19), so both hives get the value.
    public var registryKeys: [String] {
        switch self {
        case .wininet: return ["S-1-5-18", "S-1-5-19"].map { #"HKEY_USERS\"# + $0 + #"\"# + SettingsKind.connectionsPath }
        case .winhttp: return [#"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"#]
        }
    }

    /// The value under every key of this kind.
    public func registryValues(_ bytes: [UInt8]) -> [RegistryValue] {
        registryKeys.map { RegistryValue(key: $0, name: valueName, bytes: bytes) }
    }
}
