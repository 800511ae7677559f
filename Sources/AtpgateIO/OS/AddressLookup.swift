#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet

/// The blocking name lookup: getaddrinfo for TCP addresses of both families. The engine's resolver runs
/// it on its own threads (never on a loop); the one-shot commands (`doctor`, `probe`) call it directly.
public enum AddressLookup {
    /// Why a lookup found nothing: gai_strerror's words, or "no addresses".
    public struct Failure: Error, Sendable, Equatable {
        public let reason: String
    }

    /// Addresses of `name` (a name or an IP literal), deduplicated, in the resolver's order.
    public static func tcpAddresses(of name: String) -> Result<[IPAddress], Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Socket.streamType
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(Failure(reason: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let info = node {
            if let sockaddr = info.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(from: UnsafeRawBufferPointer(start: sockaddr, count: Int(info.pointee.ai_addrlen)))
                }
                if let address = SocketAddress(storage: storage), !addresses.contains(address.ip) {
                    addresses.append(address.ip)
                }
            }
            node = info.pointee.ai_next
        }
        return addresses.isEmpty ? .failure(Failure(reason: "no addresses")) : .success(addresses)
    }
}
