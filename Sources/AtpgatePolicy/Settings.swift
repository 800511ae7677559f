/// Engine timeouts in seconds. Defaults are what an unconfigured proxy uses; the YAML
/// `timeouts:` map overrides them one by one.
public struct Timeouts: Sendable, Equatable {
    /// Time allowed to receive a complete request head.
    public var head = 10.0
    public var dns = 5.0
    public var connect = 10.0
    /// Time allowed for an upstream response head (plain HTTP).
    public var response = 30.0
    /// Idle time on an established tunnel or connection.
    public var idle = 300.0
    /// Drain time on shutdown.
    public var grace = 10.0
    /// How long an idle upstream connection of plain HTTP is kept for the next request to the same origin.
    public var upstreamKeepAlive = 30.0
    /// The longest a CONNECT tunnel may live, however busy; nil (the default) for no bound.
    public var tunnel: Double? = nil

    public init() {}
}

/// Resource limits; kept separate from timeouts because they guard memory, not time.
public struct Limits: Sendable, Equatable {
    /// Largest accepted request head, 1024 ... 1048576.
    public var headBytes = 16384
    /// Idle upstream connections kept per origin (host, port) for plain HTTP; 0 turns the keep-alive pool off.
    public var upstreamKeepAlivePerOrigin = 8
    /// Idle upstream connections kept in all (split evenly over the I/O loops).
    public var upstreamKeepAliveTotal = 256
    /// Client connections open at once, in all; nil (the default) for no bound.
    public var maxConnections: Int? = nil
    /// Client connections open at once from one client address; nil (the default) for no bound.
    public var maxConnectionsPerClient: Int? = nil

    public init() {}
}

/// `tls:` — the ClientHello peek on CONNECT tunnels (issue 10): after the `200`, on a tunnel to one of
/// `ports`, the client's first bytes are read before anything is forwarded, and the SNI they offer must
/// name the CONNECT host. `enforce` refuses a mismatch (the default, on 443: the ATP hosts are HTTPS on
/// 443), `log` records what was offered and refuses nothing, `off` skips the peek.
public struct TLSPeekSettings: Sendable, Equatable {
    public enum SNIMode: String, Sendable, CaseIterable {
        case enforce, log, off
    }

    public var sni: SNIMode = .enforce
    public var ports: [UInt16] = [443]

    public init() {}

    /// Whether a tunnel to `port` is peeked.
    public func peeks(port: UInt16) -> Bool {
        sni != .off && ports.contains(port)
    }

    /// Whether a tunnel to `port` is refused on a ClientHello that does not name its host.
    public func enforces(port: UInt16) -> Bool {
        sni == .enforce && ports.contains(port)
    }
}
