import ArgumentParser
import AtpgatePolicy
import AtpgateWindows

/// `atpgate wininet encode|decode` and `atpgate winhttp encode|decode`: the same blob layout under
/// two registry values, so one pair of implementations serves both (see SettingsEncoding).
struct WininetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wininet",
        abstract: "Write or read WinINET's DefaultConnectionSettings (the sensor's proxy settings).",
        subcommands: [WininetEncode.self, WininetDecode.self]
    )
}

struct WinhttpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winhttp",
        abstract: "Write or read WinHTTP's WinHttpSettings (what `netsh winhttp set proxy` sets).",
        subcommands: [WinhttpEncode.self, WinhttpDecode.self]
    )
}

enum SettingsFormat: String, ExpressibleByArgument, CaseIterable {
    case hex, reg, powershell, netsh
}

/// Options both encoders take.
struct EncodeOptions: ParsableArguments {
    @Option(name: .long, help: "HOST:PORT of the proxy (default: the policy's pac.proxy).")
    var proxy: String?

    @Option(name: .long, help: "Bypass list, e.g. '<local>;*.corp.example' (default: the policy's pac.bypass).")
    var bypass: String?

    @Option(name: .long, help: "Change counter written into the blob.")
    var counter: UInt32 = 1

    @Option(name: .long, help: "Policy file whose pac block gives the proxy and bypass defaults.")
    var policy: String?

    @Option(name: .long, help: "Write to FILE instead of stdout (.reg files are UTF-16LE with a byte-order mark).")
    var output: String?
}

struct WininetEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode DefaultConnectionSettings as hex, a .reg file for HKU\\S-1-5-18 and S-1-5-19, or PowerShell."
    )

    @OptionGroup var options: EncodeOptions

    @Option(name: .long, help: "Auto-config (PAC) URL; sets the auto-config flag.")
    var pac: String?

    @Flag(name: .long, help: "Set the auto-detect (WPAD) flag.")
    var autoDetect = false

    @Option(name: .long, help: "hex, reg or powershell.")
    var format: SettingsFormat = .hex

    func run() throws {
        guard format != .netsh else { throw WindowsPolicy.failure("--format netsh is for winhttp; wininet takes hex, reg or powershell") }
        try SettingsEncoding.run(kind: .wininet, options: options, pac: pac, autoDetect: autoDetect, format: format)
    }
}

struct WinhttpEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode WinHttpSettings as hex, a .reg file for HKLM, PowerShell, or the netsh line."
    )

    @OptionGroup var options: EncodeOptions

    @Option(name: .long, help: "hex, reg, powershell or netsh.")
    var format: SettingsFormat = .hex

    func run() throws {
        try SettingsEncoding.run(kind: .winhttp, options: options, pac: nil, autoDetect: false, format: format)
    }
}

/// Options both decoders take.
struct DecodeOptions: ParsableArguments {
    @Argument(help: "A raw blob, a file of hex, or a .reg export (UTF-16LE or UTF-8, REGEDIT4 or version 5).")
    var file: String?

    @Option(name: .long, help: "The blob as hex instead of a file.")
    var hex: String?

    @Option(name: .long, help: "Check the settings route the policy's allowed hosts through this proxy (exit 1 on findings).")
    var policy: String?

    func validate() throws {
        guard (file == nil) != (hex == nil) else { throw ValidationError("give FILE or --hex, one of them") }
    }
}

struct WininetDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print every field of DefaultConnectionSettings; with --policy, check the route (exit 0 clean, 1 findings, 2 unreadable)."
    )

    @OptionGroup var options: DecodeOptions

    func run() throws {
        try SettingsDecoding.run(kind: .wininet, options: options)
    }
}

struct WinhttpDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print every field of WinHttpSettings; with --policy, check the route (exit 0 clean, 1 findings, 2 unreadable)."
    )

    @OptionGroup var options: DecodeOptions

    func run() throws {
        try SettingsDecoding.run(kind: .winhttp, options: options)
    }
}
