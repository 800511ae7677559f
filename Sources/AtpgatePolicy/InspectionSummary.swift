extension Policy {
    /// The `inspection` lines of `summary` (what `atpgate check` prints): the hosts, the CA, how clients
    /// are verified, the upstream trust and every client-certificate mapping with its line.
    var inspectionSummary: [String] {
        guard let inspection else { return ["inspection off"] }
        let hosts = inspection.hosts.count == 1 ? "1 host" : "\(inspection.hosts.count) hosts"
        var lines = ["inspection \(hosts): " + inspection.hosts.map(\.description).joined(separator: ", ")
                     + " (\(referenceName(line: inspection.sourceLine)))"]
        lines.append("inspection ca \(inspection.ca.certPath) key \(inspection.ca.keyPath)")
        let clients = inspection.clients
        let pins = clients.pins.count == 1 ? "1 pin" : "\(clients.pins.count) pins"
        lines.append("inspection clients ca \(clients.caPath ?? "(none)"), \(pins), "
                     + (clients.require ? "certificate required" : "certificate not required"))
        let trust: String
        switch inspection.upstream.trust {
        case .system: trust = "system"
        case .bundle(let path): trust = path
        }
        let mappings = inspection.upstream.clientCerts
        lines.append("inspection upstream trust \(trust), " + (mappings.count == 1 ? "1 client_certs entry" : "\(mappings.count) client_certs entries"))
        lines += mappings.map {
            "inspection client_cert \($0.matchDescription) -> \($0.certPath) key \($0.keyPath) (\(referenceName(line: $0.sourceLine)))"
        }
        return lines
    }
}
