import ArgumentParser
import AtpgateClientConfig
import AtpgatePolicy
import AtpgateWindows

/// Reads settings from a blob, hex or a .reg export, prints every field and, with a policy, the route check.
/// Exit 0 clean (or no policy), 1 findings, 2 unreadable or malformed input.
enum SettingsDecoding {
    static func run(kind: SettingsKind, options: DecodeOptions) throws {
        let policy = try options.policy.map { path in try WindowsPolicy.load(path, exitCode: 2) }
        let blobs: [(key: String?, bytes: [UInt8])]
        do {
            blobs = try read(kind: kind, options: options)
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
        var decoded: [(String?, ConnectionSettings)] = []
        for (key, bytes) in blobs {
            do {
                decoded.append((key, try ConnectionSettings(decoding: bytes, as: kind)))
            } catch {
                Output.error("error: \(key.map { "\($0): " } ?? "")\(kind.valueName): \(error)")
                throw ExitCode(2)
            }
        }
        var findings = false
        for (index, (key, settings)) in decoded.enumerated() {
            if index > 0 { print("") }
            if let key { print("key: \(key)") }
            for line in describe(settings) { print(line) }
            guard let policy else { continue }
            let check = RouteCheck(settings, policy: policy)
            for finding in check.findings { print("finding: \(finding)") }
            for note in check.notes { print("note: \(note)") }
            if check.isClean { print("route: the policy's allowed hosts go through this proxy") }
            findings = findings || !check.isClean
        }
        if findings { throw ExitCode(1) }
    }

    /// Every field, one per line.
    static func describe(_ settings: ConnectionSettings) -> [String] {
        let versionName: String
        switch settings.version {
        case 0x46: versionName = "WinINET, IE7 and later"
        case 0x3C: versionName = "WinINET, IE5/6"
        default: versionName = "WinHTTP"
        }
        var lines = [
            "value: \(settings.kind.valueName)",
            "version: 0x\(Hex.byte(UInt8(truncatingIfNeeded: settings.version))) (\(versionName))",
            "counter: \(settings.counter)",
            "flags: 0x\(Hex.word(settings.flags.rawValue)) (\(settings.flags.names.joined(separator: ", ")))",
            "proxy server: \(settings.proxyServer.isEmpty ? "(none)" : settings.proxyServer)",
            "bypass list: \(settings.bypassList.isEmpty ? "(none)" : settings.bypassList)",
        ]
        if settings.kind == .wininet {
            lines.append("auto-config URL: \(settings.autoConfigURL.isEmpty ? "(none)" : settings.autoConfigURL)")
        }
        let zero = settings.trailer.allSatisfy { $0 == 0 }
        lines.append("trailer: \(settings.trailer.count) bytes" + (settings.trailer.isEmpty ? "" : zero ? " (all zero)" : ": " + Hex.string(settings.trailer)))
        lines += settings.warnings.map { "warning: \($0)" }
        return lines
    }

    struct InputError: Error, CustomStringConvertible {
        let description: String
    }

    /// The blobs to decode: one from --hex or a raw/hex file, or every value of the kind's name in a .reg file.
    static func read(kind: SettingsKind, options: DecodeOptions) throws -> [(key: String?, bytes: [UInt8])] {
        if let hex = options.hex { return [(nil, try Hex.parse(hex))] }
        let path = options.file!
        let data = try BinaryFile.read(path)
        if looksLikeRegFile(data) {
            let values = try RegFileReader.values(data).filter { $0.name.lowercased() == kind.valueName.lowercased() }
            guard !values.isEmpty else { throw InputError(description: "\(path): no \(kind.valueName) value in this .reg file") }
            return values.map { ($0.key, $0.bytes) }
        }
        // A file of hex text (what `encode --format hex` prints), else the raw blob.
        if let text = String(validating: data, as: UTF8.self), !data.isEmpty, let bytes = try? Hex.parse(text) {
            return [(nil, bytes)]
        }
        return [(nil, data)]
    }

    static func looksLikeRegFile(_ data: [UInt8]) -> Bool {
        if data.starts(with: [0xFF, 0xFE]) { return true }
        let body = data.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(data.dropFirst(3)) : data
        return body.starts(with: Array("REGEDIT4".utf8)) || body.starts(with: Array("Windows Registry Editor".utf8))
    }
}
