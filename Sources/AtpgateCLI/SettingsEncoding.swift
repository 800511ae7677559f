import ArgumentParser
import AtpgatePolicy
import AtpgateWindows

/// Builds a settings blob from flags (and the policy's pac block) and writes it in the asked format.
enum SettingsEncoding {
    static func run(kind: SettingsKind, options: EncodeOptions, pac: String?, autoDetect: Bool, format: SettingsFormat) throws {
        var pacSettings: PACSettings? = nil
        if let path = options.policy { pacSettings = try WindowsPolicy.load(path, exitCode: 1).pac }
        guard let proxyText = options.proxy ?? pacSettings?.proxy?.description else {
            throw WindowsPolicy.failure("--proxy HOST:PORT is required (or a --policy with pac.proxy)")
        }
        guard let proxy = ProxyAddress(proxyText) else { throw WindowsPolicy.failure("--proxy '\(proxyText)' is not HOST:PORT") }
        let bypass = options.bypass ?? (pacSettings?.bypass ?? []).joined(separator: ";")
        var flags: ConnectionFlags = [.direct, .proxy]
        if pac != nil { flags.insert(.autoConfigURL) }
        if autoDetect { flags.insert(.autoDetect) }
        let settings = ConnectionSettings(kind: kind, counter: options.counter, flags: flags, proxyServer: proxy.description,
                                          bypassList: bypass, autoConfigURL: pac ?? "")
        let bytes: [UInt8]
        do {
            bytes = try settings.encoded()
        } catch {
            throw WindowsPolicy.failure("\(error)")
        }
        let output: [UInt8]
        switch format {
        case .hex: output = Array((Hex.string(bytes) + "\n").utf8)
        case .reg: output = RegFileWriter.utf16LE(RegFileWriter.text(kind.registryValues(bytes)))
        case .powershell: output = Array(SettingsScript.powerShell(kind.registryValues(bytes)).utf8)
        case .netsh:
            do {
                output = Array((try SettingsScript.netsh(settings) + "\n").utf8)
            } catch {
                throw WindowsPolicy.failure("\(error)")
            }
        }
        do {
            try BinaryFile.write(output, to: options.output)
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(1)
        }
    }
}

enum WindowsPolicy {
    /// One `error:` line on stderr and the exit status to throw (usage errors stay ArgumentParser's).
    static func failure(_ message: String, code: Int32 = 1) -> ExitCode {
        Output.error("error: \(message)")
        return ExitCode(code)
    }

    /// The policy, or the loader's file:line:col message and `exitCode`.
    static func load(_ path: String, exitCode: Int32) throws -> Policy {
        do {
            return try PolicyLoader.load(path: path)
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(exitCode)
        }
    }
}
