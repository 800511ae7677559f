#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO

/// Why a request that was served (a tunnel, a forwarded response) ended abnormally: the access log's
/// `error` for it. The names are a contract (operators alert on them): never rename a case's text.
enum EndReason: String, Sendable, CaseIterable {
    /// The client reset its connection (RST, or a write to it found it gone).
    case clientReset = "client-reset"
    /// The upstream reset its connection.
    case upstreamReset = "upstream-reset"
    /// The client broke off otherwise: another socket error, or a request body that does not match its framing.
    case clientFailed = "client-failed"
    /// The upstream broke off otherwise: another socket error, or a response body that does not match its framing.
    case upstreamFailed = "upstream-failed"
    /// Nothing moved for `timeouts.idle`.
    case idleTimeout = "idle-timeout"
    /// The proxy stopped and the grace period ran out.
    case shutdown
    /// A reload with `on_reload: cut-denied` denies what the connection was doing.
    case policyCut = "policy-cut"
    /// The tunnel reached `timeouts.tunnel`, its longest allowed life.
    case maxDuration = "max-duration"

    /// `peer`'s socket failed with `error`: a reset, or another failure.
    static func broke(_ peer: Peer, _ error: SocketError) -> EndReason {
        broke(peer, reset: PumpFailure(error).isReset)
    }

    /// Which side broke off, and how.
    static func broke(_ peer: Peer, reset: Bool) -> EndReason {
        switch (peer, reset) {
        case (.client, true): return .clientReset
        case (.client, false): return .clientFailed
        case (.upstream, true): return .upstreamReset
        case (.upstream, false): return .upstreamFailed
        }
    }
}

/// The two ends of a proxied connection.
enum Peer: Sendable {
    case client, upstream
}

/// Why a pump stopped moving bytes before the end: a message for the diagnostics, and whether the
/// peer reset the connection (which the access log tells apart from other failures).
struct PumpFailure: Sendable, CustomStringConvertible {
    let message: String
    let isReset: Bool

    init(_ message: String, isReset: Bool = false) {
        self.message = message
        self.isReset = isReset
    }

    /// ECONNRESET on a read, EPIPE or ECONNRESET on a write: the peer is gone without an orderly close.
    init(_ error: SocketError) {
        self.init(error.description, isReset: error.errno == ECONNRESET || error.errno == EPIPE)
    }

    var description: String { message }
}
