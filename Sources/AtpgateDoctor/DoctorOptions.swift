/// How `atpgate doctor` runs: the time allowed per step, whose certificates to trust, and where to connect
/// instead of the address a name resolves to.
public struct DoctorOptions: Sendable {
    /// Seconds each step may take: the lookup, the TCP connect, and every read and write of the TLS
    /// handshake and the ping.
    public var timeout: Double
    /// A PEM bundle of trust anchors replacing the system store (curl's --cacert); nil for the system store.
    public var caFile: String?
    /// `--connect-to` entries, first match wins.
    public var connectTo: [ConnectTo]

    public init(timeout: Double = 5, caFile: String? = nil, connectTo: [ConnectTo] = []) {
        self.timeout = timeout
        self.caFile = caFile
        self.connectTo = connectTo
    }
}

/// Why `doctor` could not start (a bad option or an unreadable CA file): one line for stderr.
public struct DoctorError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
