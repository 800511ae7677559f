import AtpgateNet

/// Why a name did not resolve. Each maps to one access-log error token.
public enum ResolveError: Error, Sendable, Equatable {
    case notFound(String)   // NXDOMAIN, no addresses, or another resolver failure -> 502 dns-failed
    case timeout            // -> 504 dns-timeout
    case busy               // the resolver's queue is full -> 504 resolver-busy
}

/// The resolver seam. The engine asks for a name's addresses; implementations may answer on any
/// thread, exactly once. The engine enforces `timeouts.dns` itself, so an implementation that
/// never answers still ends in a 504.
public protocol Resolver: Sendable {
    func resolve(_ name: String, completion: @escaping @Sendable (Result<[IPAddress], ResolveError>) -> Void)
}
