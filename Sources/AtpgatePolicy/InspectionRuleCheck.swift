import AtpgateNet
import Yams

extension PolicyBuilder {
    /// An `https://` rule is only ever applied inside an inspected tunnel, and an allow one also allows
    /// the CONNECT on the promise that the tunnel is inspected. Its host must therefore lie inside one
    /// `inspection.hosts` entry: were the CONNECT tunnelled untouched, every path would pass.
    func checkInspected(_ host: HostPattern, rule: String, _ node: Node) throws(PolicyError) {
        let shown = HostText.quoted(rule)
        guard let inspection else {
            throw nodes.error(node, "bad rule \(shown): an https:// rule needs an inspection section that lists its host; "
                                  + "without one, only http:// rules take a path (use HOST:PORTS for TLS)")
        }
        guard inspection.hosts.contains(where: { $0.covers(host) }) else {
            let listed = inspection.hosts.map(\.description).joined(separator: ", ")
            throw nodes.error(node, "host \(HostText.quoted(host.display)) of https:// rule \(shown) is not in inspection.hosts "
                                  + "(\(listed)): only an inspected tunnel shows its paths")
        }
    }
}
