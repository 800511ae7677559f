import AtpgateNet
import Yams

/// The policy's `atp:` block as written, checked for shape only. The catalog and the
/// service-tag file are consulted later (AtpExpansion), once the whole policy is read.
struct AtpBlock {
    static let keys = ["instance", "cloud", "sensors", "locations", "console", "crl", "catalog", "pin"]
    static let pinKeys = ["service_tags", "tag"]
    static let defaultTag = "AzureAdvancedThreatProtection"

    /// `atp.sensors`: the sensor generations the proxy serves. They reach different hosts, so
    /// each is selected on its own; without the key, classic alone, as before the key existed.
    enum Sensor: String, CaseIterable {
        /// v2.x: the instance's sensor API host and the service-location hosts (catalog `sensor`, `locations`).
        case classic
        /// v3.x on domain controllers onboarded to Defender for Endpoint: Defender for Endpoint's
        /// simplified domain (catalog `modern`).
        case modern
    }

    /// `atp.pin`: addresses the sensor API hosts may be dialled at.
    struct Pin {
        let serviceTags: String
        let tag: String
        /// The `pin` value: every pin error points here.
        let node: Node
    }

    /// The `atp` key: its line is the "via" of the sensor, console and CRL rules.
    let keyNode: Node
    /// The block itself: where a missing key is reported.
    let node: Node
    /// Empty without `atp.instance`, which only a modern-only block may leave out.
    var instance = ""
    var instanceNode: Node? = nil
    var cloud = AtpCloud.defaultName
    var cloudNode: Node? = nil
    /// `atp.sensors` as written, each with its node (the "via" of the modern rules); empty
    /// when the key is absent.
    var sensors: [(Sensor, Node)] = []
    /// Location names as written, each with its node (the "via" of its hosts).
    var locations: [(String, Node)] = []
    var locationsNode: Node? = nil
    var console = true
    var consoleNode: Node? = nil
    var crl = true
    var catalog: String? = nil
    var catalogNode: Node? = nil
    var pin: Pin? = nil

    init(keyNode: Node, node: Node) {
        self.keyNode = keyNode
        self.node = node
    }

    /// Whether the classic (v2.x) hosts are allowed: the default when `sensors` is absent.
    var includesClassic: Bool {
        sensors.isEmpty || sensors.contains { $0.0 == .classic }
    }

    /// The `sensors` entry that selected the modern hosts, or nil when they are not selected.
    var modernEntry: Node? {
        sensors.first { $0.0 == .modern }?.1
    }
}

extension PolicyBuilder {
    func readAtp(_ node: Node, key: Node) throws(PolicyError) -> AtpBlock {
        var block = AtpBlock(keyNode: key, node: node)
        for (field, fieldKey, value) in try nodes.mapping(node, "atp") {
            switch field {
            case "instance":
                block.instance = try instance(value)
                block.instanceNode = value
            case "cloud":
                let text = try nodes.string(value, "atp.cloud")
                guard let cloud = AtpCloud.canonical(text) else {
                    throw nodes.error(value, "atp.cloud must be commercial, gcc or gcc-high (or dod), got \(HostText.quoted(text))")
                }
                block.cloud = cloud
                block.cloudNode = value
            case "sensors": block.sensors = try sensors(value)
            case "locations":
                block.locations = try nodes.strings(value, "atp.locations")
                block.locationsNode = value
            case "console":
                block.console = try nodes.bool(value, "atp.console")
                block.consoleNode = value
            case "crl": block.crl = try nodes.bool(value, "atp.crl")
            case "catalog":
                block.catalog = try path(value, "atp.catalog")
                block.catalogNode = value
            case "pin": block.pin = try pin(value)
            default: throw nodes.unknownKey(field, fieldKey, in: "atp", known: AtpBlock.keys)
            }
        }
        try checkGenerations(block)
        return block
    }

    /// What only classic sensors use needs classic selected. Locations and a pin are refused
    /// without it rather than ignored: an operator who moves to `sensors: [modern]` should not
    /// believe the location hosts are still allowed or that the modern hosts are pinned.
    private func checkGenerations(_ block: AtpBlock) throws(PolicyError) {
        if block.includesClassic {
            guard block.instanceNode != nil else {
                throw nodes.error(block.node, "atp needs 'instance' (the Defender for Identity instance name, e.g. contoso-corp): "
                                            + "the classic sensor host is built from it")
            }
            return
        }
        if let locations = block.locationsNode {
            throw nodes.error(locations, "atp.locations selects classic sensor hosts, but atp.sensors has no classic "
                                       + "(add classic to atp.sensors, or remove atp.locations)")
        }
        if let pin = block.pin {
            throw nodes.error(pin.node, "atp.pin applies to classic sensor hosts only (the modern hosts are not in the "
                                      + "AzureAdvancedThreatProtection service tag), but atp.sensors has no classic "
                                      + "(add classic, or remove atp.pin)")
        }
    }

    /// Names any case, like locations; one name without brackets is a one-entry list. An empty
    /// list is refused because it would allow no sensor at all while looking configured.
    private func sensors(_ node: Node) throws(PolicyError) -> [(AtpBlock.Sensor, Node)] {
        let known = AtpBlock.Sensor.allCases.map(\.rawValue)
        var result: [(AtpBlock.Sensor, Node)] = []
        for (text, item) in try nodes.strings(node, "atp.sensors") {
            guard let sensor = AtpBlock.Sensor(rawValue: text.lowercased()) else {
                let hint = KeySuggestion.closest(to: text, in: known).map { "did you mean '\($0)'?" }
                    ?? "classic for v2.x sensors, modern for v3.x"
                throw nodes.error(item, "unknown sensor generation \(HostText.quoted(text)) in atp.sensors (\(hint))")
            }
            guard !result.contains(where: { $0.0 == sensor }) else {
                throw nodes.error(item, "duplicate '\(sensor.rawValue)' in atp.sensors")
            }
            result.append((sensor, item))
        }
        guard !result.isEmpty else {
            throw nodes.error(node, "atp.sensors must name at least one of classic, modern")
        }
        return result
    }

    /// The instance becomes the first label of host names ("{instance}sensorapi..."), so
    /// it must be one DNS label; lower-cased like every host.
    private func instance(_ node: Node) throws(PolicyError) -> String {
        let text = try nodes.string(node, "atp.instance")
        let bytes = Array(text.utf8)
        let isLabelByte = { (byte: UInt8) in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
        }
        guard (1...63).contains(bytes.count), bytes.allSatisfy(isLabelByte),
              bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            throw nodes.error(node, "atp.instance \(HostText.quoted(text)) must be a DNS label "
                                  + "(letters, digits and hyphens, 1-63 characters, no leading or trailing hyphen)")
        }
        return text.lowercased()
    }

    private func path(_ node: Node, _ what: String) throws(PolicyError) -> String {
        let text = try nodes.string(node, what)
        guard !text.isEmpty else { throw nodes.error(node, "\(what) must not be empty") }
        return text
    }

    private func pin(_ node: Node) throws(PolicyError) -> AtpBlock.Pin {
        var serviceTags: String? = nil
        var tag = AtpBlock.defaultTag
        for (field, fieldKey, value) in try nodes.mapping(node, "atp.pin") {
            switch field {
            case "service_tags": serviceTags = try path(value, "atp.pin.service_tags")
            case "tag":
                tag = try nodes.string(value, "atp.pin.tag")
                guard !tag.isEmpty else { throw nodes.error(value, "atp.pin.tag must not be empty") }
            default: throw nodes.unknownKey(field, fieldKey, in: "atp.pin", known: AtpBlock.pinKeys)
            }
        }
        guard let serviceTags else {
            throw nodes.error(node, "atp.pin needs 'service_tags' (the path of Microsoft's ServiceTags_Public JSON file)")
        }
        return AtpBlock.Pin(serviceTags: serviceTags, tag: tag, node: node)
    }
}
