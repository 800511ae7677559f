import AtpgateNet
import Yams

/// The policy's `atp:` block as written, checked for shape only. The catalog and the
/// service-tag file are consulted later (AtpExpansion), once the whole policy is read.
struct AtpBlock {
    static let keys = ["instance", "cloud", "locations", "console", "crl", "catalog", "pin"]
    static let pinKeys = ["service_tags", "tag"]
    static let defaultTag = "AzureAdvancedThreatProtection"

    /// `atp.pin`: addresses the sensor API hosts may be dialled at.
    struct Pin {
        let serviceTags: String
        let tag: String
        /// The `pin` value: every pin error points here.
        let node: Node
    }

    /// The `atp` key: its line is the "via" of the sensor, console and CRL rules.
    let keyNode: Node
    var instance = ""
    var instanceNode: Node? = nil
    var cloud = AtpCloud.defaultName
    var cloudNode: Node? = nil
    /// Location names as written, each with its node (the "via" of its hosts).
    var locations: [(String, Node)] = []
    var console = true
    var crl = true
    var catalog: String? = nil
    var catalogNode: Node? = nil
    var pin: Pin? = nil

    init(keyNode: Node) {
        self.keyNode = keyNode
    }
}

extension PolicyBuilder {
    func readAtp(_ node: Node, key: Node) throws(PolicyError) -> AtpBlock {
        var block = AtpBlock(keyNode: key)
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
            case "locations": block.locations = try nodes.strings(value, "atp.locations")
            case "console": block.console = try nodes.bool(value, "atp.console")
            case "crl": block.crl = try nodes.bool(value, "atp.crl")
            case "catalog":
                block.catalog = try path(value, "atp.catalog")
                block.catalogNode = value
            case "pin": block.pin = try pin(value)
            default: throw nodes.unknownKey(field, fieldKey, in: "atp", known: AtpBlock.keys)
            }
        }
        guard block.instanceNode != nil else {
            throw nodes.error(node, "atp needs 'instance' (the Defender for Identity instance name, e.g. contoso-corp)")
        }
        return block
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
