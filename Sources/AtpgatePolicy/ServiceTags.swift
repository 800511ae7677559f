import AtpgateNet

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads one tag's address prefixes from Microsoft's ServiceTags_Public JSON (the weekly
/// download "Azure IP Ranges and Service Tags"). Only the fields used are decoded; the
/// file's many others (changeNumber, region, platform, ...) are ignored.
enum ServiceTags {
    /// A failure in the JSON file, worded to stand after the policy's `pin` position.
    struct Failure: Error {
        let message: String
    }

    private struct File: Decodable {
        let values: [Value]
    }

    private struct Value: Decodable {
        let name: String
        let properties: Properties
    }

    private struct Properties: Decodable {
        let addressPrefixes: [String]
    }

    /// The prefixes of `tag` in the file at `path`, in file order. The tag name must match
    /// exactly: Microsoft's names are stable and a near miss (a regional tag) is a
    /// different, narrower set.
    static func prefixes(path: String, tag: String) throws(Failure) -> [IPNetwork] {
        let name = HostText.quoted(PathText.basename(path))
        guard let bytes = FileText.read(path) else {
            throw Failure(message: "cannot read service tags file \(HostText.quoted(path, limit: PathText.shownLimit)): \(FileText.lastError())")
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw Failure(message: "service tags file \(name) is not ServiceTags_Public JSON ({\"values\": [{\"name\", \"properties\": {\"addressPrefixes\"}}]})")
        }
        guard let value = file.values.first(where: { $0.name == tag }) else {
            var message = "tag \(HostText.quoted(tag)) not found in service tags file \(name)"
            if let near = file.values.first(where: { $0.name.lowercased() == tag.lowercased() }) {
                message += " (did you mean '\(near.name)'?)"
            }
            throw Failure(message: message)
        }
        var networks: [IPNetwork] = []
        for text in value.properties.addressPrefixes {
            guard text.contains("/"), let network = IPNetwork(text) else {
                throw Failure(message: "bad address prefix \(HostText.quoted(text)) in tag \(HostText.quoted(tag)) of service tags file \(name)")
            }
            networks.append(network)
        }
        guard !networks.isEmpty else {
            throw Failure(message: "tag \(HostText.quoted(tag)) in service tags file \(name) has no address prefixes")
        }
        return networks
    }
}
