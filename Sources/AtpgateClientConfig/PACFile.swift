import AtpgateNet
import AtpgatePolicy

/// A proxy auto-config script for a policy: every destination the policy allows goes through the
/// proxy; everything else goes direct or through the proxy too (`others`). It needs no DNS while it
/// runs (no `isInNet`, no `dnsResolve`): exact names compare as strings, `*.x` is `dnsDomainIs(host,
/// ".x")` (never the apex, like the rule), IP rules compare the literal, and CIDR rules are left out
/// (a PAC file cannot test them without resolving, so those hosts follow `others`).
public enum PACFile {
    /// The script. `proxy` is `host:port` as clients reach the proxy; `bypass` (WinINET entries,
    /// used only when `others` is `.proxy`) lists what still goes direct.
    public static func generate(policy: Policy, proxy: String, others: PACOthers, bypass: [String] = []) -> String {
        var exact: [String] = []
        var suffixes: [String] = []
        var skipped: [String] = []
        for pattern in policy.allowedHostPatterns {
            switch pattern {
            case .exact(let name): exact.append(name)
            case .suffix(let suffix): suffixes.append(suffix)
            case .network(let network) where network.prefixLength == network.address.bitWidth:
                exact.append(network.address.description)
                if !network.address.isIPv4 { exact.append("[\(network.address)]") }   // browsers differ on brackets
            case .network(let network): skipped.append(network.description)
            }
        }
        let direct = string("DIRECT")
        let viaProxy = string("PROXY " + proxy)
        var lines = [
            "// Written by atpgate from \(comment(policy.file.split(separator: "/").last.map(String.init) ?? policy.file)): what the policy allows goes through the proxy,",
            "// everything else " + (others == .direct ? "goes DIRECT." : "goes through the proxy too (which denies it)."),
            "// No DNS is needed to evaluate it.",
        ]
        if !skipped.isEmpty {
            lines.append("// Not routed here (CIDR rules need DNS in a PAC file): \(comment(skipped.joined(separator: ", "))).")
        }
        lines += [
            "function FindProxyForURL(url, host) {",
            "    host = host.toLowerCase();",
            "    if (host.charAt(host.length - 1) == \".\") host = host.substring(0, host.length - 1);",
            "    var proxy = \(viaProxy);",
        ]
        lines += condition(exact.map { "host == \(string($0))" }, then: "proxy")
        lines += condition(suffixes.map { "dnsDomainIs(host, \(string("." + $0)))" }, then: "proxy")
        if others == .proxy {
            let tests = bypass.map { entry -> String in
                entry.lowercased() == "<local>" ? "isPlainHostName(host)" : "shExpMatch(host, \(string(entry.lowercased())))"
            }
            lines += condition(tests, then: direct)
            lines.append("    return proxy;")
        } else {
            lines.append("    return \(direct);")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `if (a ||\n        b) return value;`, nothing for no tests.
    static func condition(_ tests: [String], then value: String) -> [String] {
        guard !tests.isEmpty else { return [] }
        var lines: [String] = []
        for (index, test) in tests.enumerated() {
            let lead = index == 0 ? "    if (" : "        "
            let end = index == tests.count - 1 ? ") return \(value);" : " ||"
            lines.append(lead + test + end)
        }
        return lines
    }

    /// A JavaScript string literal: only printable ASCII stays as is, so nothing can end the
    /// string or the script early whatever a name or the proxy text holds.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        return out + "\""
    }

    /// Text for a `//` comment: one line, no way to end it early.
    static func comment(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{2028}" || $0 == "\u{2029}" ? "?" : Character($0) })
    }
}
