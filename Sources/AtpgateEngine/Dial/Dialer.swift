import AtpgateNet
import AtpgateIO

/// Why no upstream connection could be made. Maps to the access log's error tokens.
public enum DialError: Error, Sendable, Equatable {
    case refused(String)    // every attempt failed fast (refused, unreachable) -> 502 connect-refused
    case timeout            // an attempt or the total ran out of time       -> 504 connect-timeout
}

/// What the dialer is asked for: vetted addresses in the order to try, and the time allowed.
public struct DialRequest: Sendable {
    public var addresses: [SocketAddress]
    public var attemptTimeout: Double
    public var totalTimeout: Double
}

/// A connected upstream socket (already wrapped in its channel on the caller's loop) and the
/// address it reached.
struct DialedConnection {
    let channel: SocketChannel
    let address: SocketAddress
}

/// The dialer seam: direct now; a parent-proxy dialer and TLS origination plug in here later.
/// `dial` runs on `loop`'s queue and calls `completion` there exactly once, unless cancelled.
protocol Dialer: Sendable {
    func dial(_ request: DialRequest, on loop: IOLoop,
              completion: @escaping (Result<DialedConnection, DialError>) -> Void) -> DialAttempt
}

/// A dial in progress; `cancel()` closes any half-open socket and suppresses the completion.
protocol DialAttempt: AnyObject {
    func cancel()
}

/// Orders addresses IPv6 / IPv4 interleaved (RFC 8305 §4), keeping each family's own order.
func interleaveFamilies(_ addresses: [SocketAddress]) -> [SocketAddress] {
    let v6 = addresses.filter { !$0.ip.isIPv4 }
    let v4 = addresses.filter { $0.ip.isIPv4 }
    var ordered: [SocketAddress] = []
    ordered.reserveCapacity(addresses.count)
    for index in 0..<max(v6.count, v4.count) {
        if index < v6.count { ordered.append(v6[index]) }
        if index < v4.count { ordered.append(v4[index]) }
    }
    return ordered
}
