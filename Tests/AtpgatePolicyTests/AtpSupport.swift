import AtpgateNet
import AtpgatePolicy
import Foundation
import Testing

/// A private folder under the system temp dir, removed when the value goes away. Tests
/// that read a catalog or service-tag file write them here (never into the repository).
final class TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "atpgate-policy-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` (which may contain subfolders) and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// A catalog with known line numbers (the references in the tests depend on them) and
/// policies loaded beside it.
enum AtpFixture {
    static let catalog = """
        version: 1
        clouds:
          commercial:
            sensor: "{instance}sensorapi.atp.azure.com"
            console: "{instance}.atp.azure.com"
          gcc: {sensor: "{instance}sensorapi.gcc.atp.azure.com"}
          gcc-high: {sensor: "{instance}sensorapi.atp.azure.us"}
        locations:
          - name: US
            cloud: commercial
            hosts:
              - us1.atp.azure.com
              - us2.atp.azure.com
          - {name: Europe, cloud: commercial, hosts: [eu1.atp.azure.com, eu2.atp.azure.com]}
          - {name: US GCC, cloud: gcc, hosts: [gcc1.gcc.atp.azure.com]}
          - {name: US GCC High, cloud: gcc-high, hosts: [high1.atp.azure.us]}
        crl:
          - "crl.microsoft.com:80"
          - "http://www.microsoft.com/pkiops/*"

        """

    /// A catalog whose clouds also list modern (v3.x) sensor hosts, one spelling of the list
    /// per cloud; line numbers matter as above.
    static let modernCatalog = """
        version: 1
        clouds:
          commercial:
            sensor: "{instance}sensorapi.atp.azure.com"
            console: "{instance}.atp.azure.com"
            modern: "*.endpoint.security.microsoft.com"
          gcc:
            sensor: "{instance}sensorapi.gcc.atp.azure.com"
            modern: ["*.endpoint.security.microsoft.us"]
          gcc-high:
            sensor: "{instance}sensorapi.atp.azure.us"
            modern:
              - "*.endpoint.security.microsoft.us"
        locations:
          - {name: Europe, cloud: commercial, hosts: [eu1.atp.azure.com]}
          - {name: US GCC, cloud: gcc, hosts: [gcc1.gcc.atp.azure.com]}
          - {name: US GCC High, cloud: gcc-high, hosts: [high1.atp.azure.us]}
        crl:
          - "crl.microsoft.com:80"

        """

    /// Microsoft's ServiceTags_Public shape, with the extra fields the real file has.
    static let serviceTags = """
        {"changeNumber": 7, "cloud": "Public", "values": [
          {"name": "AzureAdvancedThreatProtection", "id": "AzureAdvancedThreatProtection",
           "properties": {"changeNumber": 3, "region": "", "regionId": 0, "platform": "Azure",
                          "systemService": "AzureAdvancedThreatProtection",
                          "addressPrefixes": ["20.36.120.0/29", "51.140.0.0/16", "2603:1000:4::/121"],
                          "networkFeatures": ["API", "NSG"]}},
          {"name": "AzureCloud", "id": "AzureCloud", "properties": {"addressPrefixes": ["52.0.0.0/8"]}},
          {"name": "Broken", "id": "Broken", "properties": {"addressPrefixes": ["20.36.120.0/33"]}},
          {"name": "Bare", "id": "Bare", "properties": {"addressPrefixes": ["20.36.120.1"]}},
          {"name": "Empty", "id": "Empty", "properties": {"addressPrefixes": []}}
        ]}
        """

    /// Writes the test catalog and the service tags beside `atpgate.yaml` and loads it.
    static func policy(_ yaml: String, catalog: String = AtpFixture.catalog) throws -> Policy {
        let folder = try TemporaryFolder()
        try folder.write(ServiceLocationCatalog.defaultFileName, catalog)
        try folder.write("ServiceTags_Public.json", serviceTags)
        return try PolicyLoader.load(path: try folder.write("atpgate.yaml", yaml))
    }

    /// The error loading `yaml` beside the test catalog gives, or nil.
    static func loadError(_ yaml: String, catalog: String = AtpFixture.catalog) throws -> PolicyError? {
        do {
            _ = try policy(yaml, catalog: catalog)
            return nil
        } catch let error as PolicyError {
            return error
        }
    }

    /// The policy's effective allow rules, as `summary` prints them.
    static func allowLines(_ policy: Policy) -> [String] {
        policy.summary.filter { $0.hasPrefix("allow ") }
    }
}
