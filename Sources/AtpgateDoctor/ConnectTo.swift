import AtpgateNet

/// curl's `--connect-to HOST:PORT:ADDR:PORT`: connections for HOST:PORT go to ADDR:PORT instead, while HOST
/// stays the name sent as SNI, checked in the certificate and sent as Host. An empty HOST or PORT matches
/// any; an empty ADDR keeps the endpoint's host (resolved as usual), an empty second PORT keeps its port.
/// IPv6 addresses go in brackets. ADDR is still vetted like any address the proxy would dial.
public struct ConnectTo: Sendable, Equatable, CustomStringConvertible {
    /// The endpoint host it applies to; nil matches any host.
    public let host: Host?
    public let port: UInt16?
    /// An IP literal or a name (looked up through the policy's `hosts` and DNS); nil keeps the host.
    public let address: Host?
    public let addressPort: UInt16?

    public init(host: Host?, port: UInt16?, address: Host?, addressPort: UInt16?) {
        self.host = host
        self.port = port
        self.address = address
        self.addressPort = addressPort
    }

    /// Parses the curl syntax; the error names the part that is wrong.
    public static func parse(_ text: String) throws(DoctorError) -> ConnectTo {
        let parts = try fields(text)
        guard parts.count == 4 else {
            throw DoctorError("--connect-to \(HostText.quoted(text)): expected HOST:PORT:ADDR:PORT (IPv6 in brackets)")
        }
        func port(_ field: Substring, _ what: String) throws(DoctorError) -> UInt16? {
            if field.isEmpty { return nil }
            guard let value = UInt16(field), value > 0 else {
                throw DoctorError("--connect-to \(HostText.quoted(text)): \(what) \(HostText.quoted(String(field))) is not a port (1-65535)")
            }
            return value
        }
        func host(_ field: Substring, _ what: String) throws(DoctorError) -> Host? {
            if field.isEmpty { return nil }
            do {
                return try Host.normalize(field)
            } catch {
                throw DoctorError("--connect-to \(HostText.quoted(text)): bad \(what): \(error.reason)")
            }
        }
        return ConnectTo(host: try host(parts[0], "HOST"), port: try port(parts[1], "PORT"),
                         address: try host(parts[2], "ADDR"), addressPort: try port(parts[3], "second PORT"))
    }

    /// Whether this entry redirects `host`:`port`.
    public func matches(host: Host, port: UInt16) -> Bool {
        (self.host == nil || self.host == host) && (self.port == nil || self.port == port)
    }

    public var description: String {
        "\(host?.description ?? ""):\(port.map(String.init) ?? ""):\(address?.description ?? ""):\(addressPort.map(String.init) ?? "")"
    }

    /// Splits at ':' outside brackets, so "[::1]" stays one field.
    private static func fields(_ text: String) throws(DoctorError) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var inBrackets = false
        for index in text.indices {
            switch text[index] {
            case "[": inBrackets = true
            case "]": inBrackets = false
            case ":" where !inBrackets:
                result.append(text[start..<index])
                start = text.index(after: index)
            default: break
            }
        }
        guard !inBrackets else { throw DoctorError("--connect-to \(HostText.quoted(text)): unclosed '['") }
        result.append(text[start...])
        return result
    }
}
