/// What `atpgate check` warns about in a valid `inspection:` section: settings that load, but break
/// Defender for Identity sensors. Each warning is one line, "file:line: message", at the
/// `inspection.hosts` entry concerned.
enum InspectionWarnings {
    /// The labels below which Defender for Endpoint's simplified domain lives in every cloud
    /// ("*.endpoint.security.microsoft.com", ".us"): the modern (v3.x) sensor hosts.
    static let modernLabels = ["endpoint", "security", "microsoft"]

    /// - A classic sensor host (the instance's sensor API host or a service-location host, from the
    ///   `atp` expansion) inspected while `upstream.client_certs` is empty: the proxy could only present
    ///   no certificate upstream, and the cloud rejects a sensor that does not authenticate with its own.
    /// - A modern sensor host inspected at all: Microsoft pins those connections' certificates and says
    ///   traffic inspection is not supported, so every inspected v3.x sensor connection fails.
    static func of(_ settings: InspectionSettings, classicSensorHosts: Set<String>, file: String) -> [String] {
        var warnings: [String] = []
        for entry in settings.hosts {
            let place = "\(file):\(entry.sourceLine)"
            if settings.upstream.clientCerts.isEmpty {
                let classic = classicSensorHosts.sorted().filter { entry.matches(.name($0)) }
                if !classic.isEmpty {
                    warnings.append("\(place): inspection.hosts entry '\(entry)' inspects the classic sensor host "
                                    + "\(classic.joined(separator: ", ")) but inspection.upstream.client_certs is empty: "
                                    + "the cloud rejects a sensor that does not present its certificate")
                }
            }
            if reachesModernHosts(entry.pattern) {
                warnings.append("\(place): inspection.hosts entry '\(entry)' inspects modern sensor hosts "
                                + "(*.endpoint.security.microsoft.*): their connections are certificate-pinned and Microsoft "
                                + "says traffic inspection is not supported, so v3.x sensors behind it fail")
            }
        }
        return warnings
    }

    /// Whether some name the entry matches is a modern sensor host, a name below
    /// "endpoint.security.microsoft.TLD": the entry names one, is the wildcard of that domain or of
    /// one below it, or is a wildcard wide enough to hold it ("*.microsoft.com", "*.com").
    static func reachesModernHosts(_ pattern: InspectedHost.Pattern) -> Bool {
        let domainLength = modernLabels.count + 1
        switch pattern {
        case .address:
            return false
        case .exact(let name):
            let labels = name.split(separator: ".").map(String.init)
            return labels.count > domainLength && isModernDomain(Array(labels.suffix(domainLength)))
        case .suffix(let suffix):
            let labels = suffix.split(separator: ".").map(String.init)
            if labels.count >= domainLength { return isModernDomain(Array(labels.suffix(domainLength))) }
            // Shorter than the domain: it holds it when its labels are the domain's last ones.
            let domain = modernLabels + [labels.last ?? ""]
            return Array(domain.suffix(labels.count)) == labels
        }
    }

    /// "endpoint.security.microsoft.TLD" for any one-label TLD.
    private static func isModernDomain(_ labels: [String]) -> Bool {
        Array(labels.dropLast()) == modernLabels
    }
}
