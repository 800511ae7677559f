import AtpgateNet
import Yams

/// The policy's `admin:` listener: metrics, health and the effective policy, for operators and their
/// probes, never for the proxy's clients. Off when the key is absent.
public struct AdminSettings: Sendable, Equatable {
    public var listen: ListenAddress
    /// Who may reach it; loopback unless the policy says otherwise (never empty).
    public var clients: [IPNetwork]

    public static let defaultClients = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]

    public init(listen: ListenAddress, clients: [IPNetwork] = AdminSettings.defaultClients) {
        self.listen = listen
        self.clients = clients
    }

    /// Whether a peer at `address` may use the admin listener. IPv4-mapped IPv6 peers (dual-stack
    /// sockets) are checked as the IPv4 they are, as `Policy.isClientAllowed` does.
    public func admits(_ address: IPAddress) -> Bool {
        let effective = address.mappedIPv4 ?? address
        return clients.contains { $0.contains(effective) }
    }
}

extension PolicyBuilder {
    static let adminKeys = ["listen", "clients"]

    /// `admin: "IP:PORT"` or `admin: {listen: "IP:PORT", clients: [CIDR, ...]}`. The clash with the
    /// proxy's own `listen` is checked by `checkAdmin` once the whole file is read.
    func readAdmin(_ node: Node) throws(PolicyError) -> (settings: AdminSettings, listenNode: Node) {
        if case .scalar = node, !YAMLNodes.isNull(node) {
            return (AdminSettings(listen: try adminAddress(node)), node)
        }
        var listen: (ListenAddress, Node)? = nil
        var clients = AdminSettings.defaultClients
        for (key, keyNode, value) in try nodes.mapping(node, "admin") {
            switch key {
            case "listen": listen = (try adminAddress(value), value)
            case "clients":
                clients = try networks(value, "admin.clients").map(\.network)
                // An empty list would make a listener nobody may use; all addresses must be said outright.
                guard !clients.isEmpty else { throw nodes.error(value, "admin.clients must not be empty") }
            default: throw nodes.unknownKey(key, keyNode, in: "admin", known: PolicyBuilder.adminKeys)
            }
        }
        guard let listen else { throw nodes.error(node, "admin needs 'listen' (IP:PORT of the admin listener)") }
        return (AdminSettings(listen: listen.0, clients: clients), listen.1)
    }

    private func adminAddress(_ node: Node) throws(PolicyError) -> ListenAddress {
        let text = try nodes.string(node, "admin.listen")
        guard let address = ListenAddress(text) else {
            throw nodes.error(node, "bad admin.listen address \(HostText.quoted(text)) (want IP:PORT or [IPv6]:PORT)")
        }
        return address
    }

    /// The admin listener must not take a port the proxy listens on: the bind would fail at start, or
    /// proxy clients would land on the admin endpoints. Port 0 (any free port) never clashes.
    func checkAdmin(_ admin: AdminSettings, _ node: Node) throws(PolicyError) {
        let address = admin.listen
        guard address.port != 0 else { return }
        for proxy in listen where proxy.port == address.port && proxy.ip.isIPv4 == address.ip.isIPv4 {
            let wildcard = IPAddress(proxy.ip.isIPv4 ? "0.0.0.0" : "::")!
            if proxy.ip == address.ip || proxy.ip == wildcard || address.ip == wildcard {
                throw nodes.error(node, "admin.listen \(address) takes the proxy's listen address \(proxy)")
            }
        }
    }
}
