import Logging
import AtpgateNet
import AtpgatePolicy
import AtpgateIO
import AtpgateTLS

/// What every connection shares: the policy, the resolver and dialer seams, the access log,
/// and the proxy's own addresses (never dialled, so the proxy cannot be looped into itself).
struct ProxyContext: Sendable {
    let policies: PolicyStore
    let resolver: any Resolver
    let dialer: any Dialer
    let accessLog: @Sendable (AccessRecord) -> Void
    let selfAddresses: SelfAddresses
    let registry: ConnectionRegistry
    /// Per-loop counters and the swift-metrics series (issue 12).
    let metrics: ProxyMetrics
    let pac: PACService
    let logger: Logger
    /// Idle upstream connections of plain HTTP, one pool per loop.
    let pools: UpstreamPools
    /// TLS inspection's loaded material and minted leaves (issue 11).
    let inspection: InspectionStore

    var leaves: LeafCache { inspection.leaves }
}

/// The proxy's listening endpoints. For a wildcard listener, any local address on its port.
///
/// Compared by what an address reaches, not by its spelling: "[::ffff:127.0.0.1]:3128" (or a name
/// resolving to it) dials the listener on 127.0.0.1:3128 through the dual-stack socket, and every
/// other IPv6 form embedding 127.0.0.1 may too, so each counts as self. A networks.allow carve-out
/// for loopback would otherwise let a client nest tunnels through the proxy into itself.
struct SelfAddresses: Sendable {
    var exact: Set<SocketAddress> = []
    var wildcardPorts: Set<UInt16> = []
    var localIPs: Set<IPAddress> = []

    func contains(_ address: SocketAddress) -> Bool {
        // The address as written and every IPv4 it embeds (mapped, compatible, SIIT, NAT64, ...).
        for ip in address.ip.ipv4Equivalents {
            for listener in exact where listener.port == address.port && listener.ip.refersTo(ip) { return true }
            // The unspecified address as a destination is this host (Linux connects it to loopback),
            // so 0.0.0.0:PORT may reach a listener on PORT. The built-in deny ranges refuse it too,
            // unless a networks.allow carve-out covers it; this check does not rely on that.
            if Self.isUnspecified(ip) && (wildcardPorts.contains(address.port) || exact.contains { $0.port == address.port }) {
                return true
            }
            // A wildcard listener accepts every local destination: the interface addresses, and all
            // of 127.0.0.0/8, which Linux routes to lo without listing each address. atpgate binds
            // "[::]" with IPV6_V6ONLY, but a wildcard port counts as self for both families anyway:
            // a "::" socket without it would accept IPv4 too, and a false "self" only refuses a loop.
            if wildcardPorts.contains(address.port) && (localIPs.contains(ip) || Self.isLoopback(ip)) { return true }
        }
        return false
    }

    private static func isUnspecified(_ ip: IPAddress) -> Bool {
        ip == .v4(0) || ip == .v6(0, 0)
    }

    private static func isLoopback(_ ip: IPAddress) -> Bool {
        switch ip {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }
}
