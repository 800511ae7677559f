/// The ATP service-location catalog (`policies/atp-service-locations.yaml`): per cloud, the
/// instance host templates of classic (v2.x) sensors and the hosts of modern (v3.x) ones; per
/// location, the classic sensor API hosts; and the certificate revocation rules. Operators edit it when Microsoft publishes new endpoints, so it is
/// validated as strictly as a policy and every error carries the catalog's position.
public struct ServiceLocationCatalog: Sendable {
    public static let defaultFileName = "atp-service-locations.yaml"

    /// One cloud's instance hosts. The templates contain "{instance}", which a policy's
    /// `atp.instance` replaces.
    public struct Cloud: Sendable, Hashable {
        public let name: String
        public let sensor: String
        /// Absent for clouds without a console reachable from sensors (the US Government clouds).
        public let console: String?
        /// The modern (v3.x) sensor hosts as written, normalised: exact names or "*.suffix",
        /// each allowed at port 443. Empty when the catalog gives the cloud none.
        public let modern: [String]
        /// Line of the cloud's key in the catalog.
        public let line: Int
        let sensorLine: Int
        let consoleLine: Int?
        /// Parallel to `modern`: what each entry matches, and its line (the rule's reference).
        let modernPatterns: [HostPattern]
        let modernLines: [Int]
    }

    /// One service location: the sensor API hosts (all port 443) of one region in one cloud.
    public struct Location: Sendable, Hashable {
        public let name: String
        public let cloud: String
        /// Normalised names, in catalog order.
        public let hosts: [String]
        /// Line of the location's entry in the catalog.
        public let line: Int
        /// Line of each host, parallel to `hosts`: the reference of the rule it becomes.
        let hostLines: [Int]
    }

    /// A revocation endpoint as an allow rule (`HOST:PORT` or `http://HOST/PATH`).
    struct CRLRule: Sendable {
        let text: String
        let parsed: RuleParser.Parsed
        let line: Int
    }

    /// Path as given to the loader.
    public let file: String
    public let clouds: [Cloud]
    public let locations: [Location]
    let crlRules: [CRLRule]

    /// The CRL rules as written in the catalog.
    public var crl: [String] { crlRules.map(\.text) }

    /// Reads `path` and parses it. I/O failures are reported at line 0, column 0.
    public static func load(path: String) throws(PolicyError) -> ServiceLocationCatalog {
        switch FileText.utf8(path) {
        case .success(let text):
            return try parse(yaml: text, file: path)
        case .failure(.unreadable(let reason)):
            throw PolicyError(file: path, line: 0, column: 0, message: "cannot read catalog file: \(reason)")
        case .failure(.notUTF8):
            throw PolicyError(file: path, line: 0, column: 0, message: "catalog file is not valid UTF-8")
        }
    }

    /// Parses catalog YAML; `file` is used for messages and rule references.
    public static func parse(yaml: String, file: String) throws(PolicyError) -> ServiceLocationCatalog {
        guard let root = try YAMLSource.compose(yaml, file: file) else {
            throw PolicyError(file: file, line: 1, column: 1, message: "catalog file is empty (needs at least 'version: 1')")
        }
        var reader = CatalogReader(nodes: YAMLNodes(file: file))
        try reader.read(root)
        return ServiceLocationCatalog(file: file, clouds: reader.clouds, locations: reader.locations, crlRules: reader.crl)
    }

    public func cloud(named name: String) -> Cloud? {
        clouds.first { $0.name == name }
    }

    /// The locations of one cloud, in catalog order.
    public func locations(in cloud: String) -> [Location] {
        locations.filter { $0.cloud == cloud }
    }

    /// Human-readable lines for `atpgate locations`: per cloud its instance hosts and modern
    /// sensor hosts, then one line per location with its hosts; the CRL rules last.
    public var listing: [String] {
        var lines: [String] = []
        for cloud in clouds {
            var hosts = "sensor \(cloud.sensor)"
            if let console = cloud.console { hosts += ", console \(console)" }
            if !cloud.modern.isEmpty { hosts += ", modern \(cloud.modern.joined(separator: ", "))" }
            lines.append("\(cloud.name): \(hosts)")
            lines += locations(in: cloud.name).map { "\(cloud.name) / \($0.name): \($0.hosts.joined(separator: ", "))" }
        }
        lines.append("crl: " + (crl.isEmpty ? "(none)" : crl.joined(separator: ", ")))
        return lines
    }
}
