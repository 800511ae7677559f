import AtpgatePolicy
import AtpgateWindows

/// The Defender for Identity sensor's proxy set-up, as the lines an admin pastes: the silent
/// installer's command line and, for an installed sensor, the DefenderForIdentity module's cmdlet.
public struct SensorCommand: Sendable, Equatable {
    /// `http://host:port` (the sensor speaks plain HTTP to its proxy and tunnels with CONNECT).
    public let proxyURL: String
    /// Adds `ProxyUserName`/`ProxyUserPassword` placeholders (and `-ProxyCredential` in PowerShell).
    public let credentials: Bool

    public init(proxyURL: String, credentials: Bool = false) {
        self.proxyURL = proxyURL
        self.credentials = credentials
    }

    /// `"Azure ATP sensor Setup.exe" /quiet NetFrameworkCommandLineArguments="/q" AccessKey="<access key>" ProxyUrl="..."`
    public func installCommand() throws(QuotingError) -> String {
        var line = "\"Azure ATP sensor Setup.exe\" /quiet NetFrameworkCommandLineArguments=\"/q\" AccessKey=\"<access key>\""
        line += " ProxyUrl=\(try Quoting.cmd(proxyURL))"
        if credentials { line += " ProxyUserName=\"<user>\" ProxyUserPassword=\"<password>\"" }
        return line
    }

    /// `Set-MDISensorProxyConfiguration -ProxyUrl "..."` for a sensor that is already installed.
    public var powerShellCommand: String {
        var line = "Set-MDISensorProxyConfiguration -ProxyUrl \(Quoting.powerShell(proxyURL))"
        if credentials { line += " -ProxyCredential (Get-Credential)" }
        return line
    }

    /// `host:port` becomes `http://host:port`; an `http://` URL is kept (minus a trailing `/`).
    /// Anything else (https://, a path, no port) is refused: the sensor wants a plain proxy address.
    public static func proxyURL(_ text: String) -> String? {
        ProxyServerList.address(text).map { "http://\($0)" }
    }
}
