/// The same settings as a PowerShell script and, for WinHTTP, as the `netsh` line an admin types.
public enum SettingsScript {
    /// Creates each key if missing (never `New-Item -Force` on an existing key, which would empty it)
    /// and sets the REG_BINARY value with `Set-ItemProperty -Type Binary`.
    public static func powerShell(_ values: [RegistryValue]) -> String {
        var lines = ["# Written by atpgate. Run elevated; WinINET and WinHTTP read the value on their next connection."]
        for value in values {
            let path = powerShellQuoted("Registry::" + value.key)
            let bytes = value.bytes.map { "0x" + Hex.byte($0) }.joined(separator: ",")
            lines.append("if (-not (Test-Path -LiteralPath \(path))) { New-Item -Path \(path) -Force | Out-Null }")
            lines.append("Set-ItemProperty -LiteralPath \(path) -Name \(powerShellQuoted(value.name)) -Type Binary -Value ([byte[]](\(bytes)))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `netsh winhttp set proxy proxy-server="..." bypass-list="..."`, or `netsh winhttp reset proxy`
    /// for settings without a proxy. netsh takes cmd's quoting, so a value holding `"` is refused.
    public static func netsh(_ settings: ConnectionSettings) throws(QuotingError) -> String {
        guard settings.flags.contains(.proxy), !settings.proxyServer.isEmpty else { return "netsh winhttp reset proxy" }
        var line = "netsh winhttp set proxy proxy-server=\(try Quoting.cmd(settings.proxyServer))"
        if !settings.bypassList.isEmpty { line += " bypass-list=\(try Quoting.cmd(settings.bypassList))" }
        return line
    }

    /// PowerShell single quotes: nothing inside is expanded, and `'` is doubled.
    static func powerShellQuoted(_ text: String) -> String {
        "'" + text.replacing("'", with: "''") + "'"
    }
}
