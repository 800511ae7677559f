#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet

/// IP addresses to and from the C socket structures (AtpgateIO has the same, but doctor stays off the
/// proxy's I/O layer: it uses plain blocking sockets).
enum SocketAddresses {
    static func ip(of sockaddr: UnsafePointer<sockaddr>) -> IPAddress? {
        switch Int32(sockaddr.pointee.sa_family) {
        case AF_INET:
            return sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                withUnsafeBytes(of: v4.pointee.sin_addr) { IPAddress(v4Bytes: Array($0)) }
            }
        case AF_INET6:
            return sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                withUnsafeBytes(of: v6.pointee.sin6_addr) { IPAddress(v6Bytes: Array($0)) }
            }
        default:
            return nil
        }
    }

    /// Calls `body` with a sockaddr for `address`:`port` and its length.
    static func with<T>(_ address: IPAddress, port: UInt16,
                        _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let bytes = address.bytes
        if address.isIPv4 {
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &v4.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &v6.sin6_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &v6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }

    /// "127.0.0.1:443", "[::1]:443".
    static func text(_ address: IPAddress, port: UInt16) -> String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
