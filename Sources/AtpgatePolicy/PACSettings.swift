import AtpgateNet
import Yams

/// Where a PAC file sends what the policy does not allow.
public enum PACOthers: String, Sendable, CaseIterable {
    /// Straight out: the proxy only carries what it would allow anyway.
    case direct
    /// Through the proxy too, which denies and logs it (nothing leaves around the proxy).
    case proxy
}

/// The policy's `pac:` block: how Windows clients are told to use this proxy (WinINET and WinHTTP
/// settings, the PAC file). It changes nothing in what the proxy allows.
public struct PACSettings: Sendable, Equatable {
    /// `host:port` the clients use; nil when the block leaves it to the command line.
    public var proxy: ProxyAddress?
    /// WinINET bypass entries, as written (`<local>`, `*.corp.example`).
    public var bypass: [String]
    public var others: PACOthers

    public init(proxy: ProxyAddress? = nil, bypass: [String] = [], others: PACOthers = .direct) {
        self.proxy = proxy
        self.bypass = bypass
        self.others = others
    }
}

extension PolicyBuilder {
    static let pacKeys = ["proxy", "bypass", "others"]

    func readPAC(_ node: Node) throws(PolicyError) -> PACSettings {
        var settings = PACSettings()
        for (key, keyNode, value) in try nodes.mapping(node, "pac") {
            switch key {
            case "proxy":
                let text = try nodes.string(value, "pac.proxy")
                guard let address = ProxyAddress(text) else {
                    throw nodes.error(value, "pac.proxy must be HOST:PORT ([v6]:PORT for IPv6), got \(HostText.quoted(text))")
                }
                settings.proxy = address
            case "bypass":
                settings.bypass = try nodes.strings(value, "pac.bypass").map { (text, item) throws(PolicyError) in
                    try bypassEntry(text, item)
                }
            case "others":
                let text = try nodes.string(value, "pac.others")
                guard let others = PACOthers(rawValue: text) else {
                    throw nodes.error(value, "pac.others must be direct or proxy, got \(HostText.quoted(text))")
                }
                settings.others = others
            default: throw nodes.unknownKey(key, keyNode, in: "pac", known: PolicyBuilder.pacKeys)
            }
        }
        return settings
    }

    /// One WinINET bypass entry. WinINET splits the list on ';', whitespace and ',', and the
    /// registry holds ASCII, so an entry containing them would silently become two entries.
    private func bypassEntry(_ text: String, _ node: Node) throws(PolicyError) -> String {
        let separators: Set<UInt8> = [UInt8(ascii: ";"), UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "\t")]
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !separators.contains($0) }) else {
            throw nodes.error(node, "pac.bypass entry \(HostText.quoted(text)) must be printable ASCII without ';', ',' or spaces")
        }
        return text
    }
}
