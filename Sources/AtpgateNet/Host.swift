/// A destination host after normalisation: either a DNS name in canonical form or an IP
/// literal. Policy matching only ever sees this type, never the raw client text.
public enum Host: Hashable, Sendable {
    /// Lower case ASCII, no trailing dot, validated labels.
    case name(String)
    case ip(IPAddress)
}

extension Host: CustomStringConvertible {
    /// The form that goes back into an authority: name, dotted quad, or "[v6]".
    public var description: String {
        switch self {
        case .name(let name): return name
        case .ip(let address): return address.isIPv4 ? address.description : "[\(address)]"
        }
    }
}

/// Why a client-supplied host was refused. `reason` is one short line fit for a log.
public struct HostError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
