import AtpgateWindows
import Foundation
import Testing

/// The Windows commands through the built binary: formats, exit statuses, files in both encodings.
struct CLITests {
    /// <build>/debug/atpgate beside the test runner (as the engine tests find it).
    static let binary: String? = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("atpgate").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(binary))
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }

    final class Folder {
        let path = NSTemporaryDirectory() + "atpgate-windows-tests-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func write(_ name: String, _ data: Data) throws -> String {
            let file = path + "/" + name
            try data.write(to: URL(fileURLWithPath: file))
            return file
        }
    }

    static let policy = """
        version: 1
        allow: ["contoso-corpsensorapi.atp.azure.com:443", "*.blob.core.windows.net:443"]
        pac: {proxy: "proxy.corp.example:3128", bypass: ["<local>"], others: direct}
        """

    @Test(.enabled(if: binary != nil)) func encodeRegThenDecodeWithPolicy() throws {
        let folder = try Folder()
        let policy = try folder.write("atpgate.yaml", Data(Self.policy.utf8))
        let reg = folder.path + "/proxy.reg"
        let encoded = try Self.run(["wininet", "encode", "--policy", policy, "--format", "reg", "--output", reg])
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: reg)))
        #expect(bytes.starts(with: [0xFF, 0xFE, 0x57, 0x00]))
        let clean = try Self.run(["wininet", "decode", reg, "--policy", policy])
        let text = String(decoding: clean.stdout, as: UTF8.self)
        #expect(clean.status == 0, "\(text)\(clean.stderr)")
        #expect(text.contains("proxy server: proxy.corp.example:3128"))
        #expect(text.contains(#"key: HKEY_USERS\S-1-5-19\"#))

        let bypassing = try Self.run(["wininet", "encode", "--policy", policy, "--bypass", "<local>;*.windows.net", "--format", "hex"])
        let hex = String(decoding: bypassing.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let finding = try Self.run(["wininet", "decode", "--hex", hex, "--policy", policy])
        #expect(finding.status == 1)
        #expect(String(decoding: finding.stdout, as: UTF8.self).contains("finding: bypass entry '*.windows.net'"))
    }

    @Test(.enabled(if: binary != nil)) func decodeFormats() throws {
        let folder = try Folder()
        let raw = try folder.write("blob.bin", Data(Vectors.full))
        let hexFile = try folder.write("blob.hex", Data((Hex.string(Vectors.full) + "\n").utf8))
        for file in [raw, hexFile] {
            let result = try Self.run(["wininet", "decode", file])
            #expect(result.status == 0, "\(result.stderr)")
            let text = String(decoding: result.stdout, as: UTF8.self)
            #expect(text.contains("counter: 64") && text.contains("auto-config URL: http://google.fr/") && text.contains("bypass list: Lol;<local>"))
        }
        let winhttp = try Self.run(["winhttp", "decode", "--hex", Hex.string(Vectors.winhttp)])
        #expect(String(decoding: winhttp.stdout, as: UTF8.self).contains("proxy server: a:42"))
        #expect(try Self.run(["wininet", "decode", "--hex", "46000000"]).status == 2)
        #expect(try Self.run(["wininet", "decode", "--hex", Hex.string(Vectors.winhttp)]).status == 2)
        #expect(try Self.run(["wininet", "decode", folder.path + "/missing"]).status == 2)
    }

    @Test(.enabled(if: binary != nil)) func winhttpAndSensorLines() throws {
        let netsh = try Self.run(["winhttp", "encode", "--proxy", "a:42", "--bypass", "*.42", "--format", "netsh"])
        #expect(String(decoding: netsh.stdout, as: UTF8.self) == "netsh winhttp set proxy proxy-server=\"a:42\" bypass-list=\"*.42\"\n")
        let hex = try Self.run(["winhttp", "encode", "--proxy", "a:42", "--bypass", "*.42", "--counter", "0"])
        #expect(String(decoding: hex.stdout, as: UTF8.self) == Hex.string(Vectors.winhttp) + "\n")
        let sensor = try Self.run(["sensor-command", "--proxy", "proxy:3128"])
        #expect(String(decoding: sensor.stdout, as: UTF8.self).contains(#"Set-MDISensorProxyConfiguration -ProxyUrl "http://proxy:3128""#))
        #expect(try Self.run(["sensor-command", "--proxy", "a\"b:1"]).status == 1)
        #expect(try Self.run(["wininet", "encode"]).status == 1, "no proxy")
    }
}
