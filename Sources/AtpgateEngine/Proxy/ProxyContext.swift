import Logging
import AtpgateNet
import AtpgatePolicy

/// What every connection shares: the policy, the resolver and dialer seams, the access log,
/// and the proxy's own addresses (never dialled, so the proxy cannot be looped into itself).
struct ProxyContext: Sendable {
    let policies: PolicyStore
    let resolver: any Resolver
    let dialer: any Dialer
    let accessLog: @Sendable (AccessRecord) -> Void
    let selfAddresses: SelfAddresses
    let registry: ConnectionRegistry
    let statistics: ProxyStatistics
    let pac: PACService
    let logger: Logger
}

/// The proxy's listening endpoints. For a wildcard listener, any local address on its port.
struct SelfAddresses: Sendable {
    var exact: Set<SocketAddress> = []
    var wildcardPorts: Set<UInt16> = []
    var localIPs: Set<IPAddress> = []

    func contains(_ address: SocketAddress) -> Bool {
        if exact.contains(address) { return true }
        // 0.0.0.0 and :: never get this far: the built-in deny ranges refuse them.
        return wildcardPorts.contains(address.port) && localIPs.contains(address.ip)
    }
}
