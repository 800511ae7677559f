import AtpgateNet
import AtpgateHTTP
import AtpgateIO

/// One connection to the admin listener: one request head, one answer, close. Confined to `loop.queue`
/// (hence `@unchecked Sendable`). Served by the engine's own HTTP parser; nothing here touches the
/// proxy's connections, limits or access log.
final class AdminConnection: @unchecked Sendable {
    /// Heads of probes and scrapers are small; anything bigger is not one of them.
    static let headLimit = 8192
    /// Time to send a head, and to take the answer before the connection is closed anyway.
    static let timeout = 5.0

    private let loop: IOLoop
    private let channel: SocketChannel
    private let peer: SocketAddress
    private let deadline: Deadline
    private let server: AdminServer
    private var bytes: [UInt8] = []
    private var scanner = HeadScanner(limit: AdminConnection.headLimit)
    private var done = false

    init(socket: Socket, peer: SocketAddress, loop: IOLoop, server: AdminServer) {
        self.loop = loop
        self.channel = SocketChannel(socket: socket, loop: loop)
        self.peer = peer
        self.deadline = Deadline(loop: loop)
        self.server = server
    }

    func start() {
        // The connection keeps itself alive through its handlers until `close`.
        deadline.arm(after: Self.timeout) { [self] in close() }
        channel.setReadHandler { [self] in read() }
        read()
    }

    private func read() {
        while !done {
            let count: Int
            do {
                guard let n = try channel.read(into: loop.scratch) else { return }
                count = n
            } catch {
                close()
                return
            }
            if count == 0 { close(); return }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
            let scanned = bytes.withUnsafeBytes { buffer in Result { () throws(HTTPHeadError) in try scanner.scan(buffer) } }
            switch scanned {
            case .success(nil):
                continue
            case .success(let length?):
                done = true
                channel.pauseReading()
                let parsed = bytes.withUnsafeBytes { buffer in
                    Result { () throws(HTTPHeadError) in
                        try HTTPRequestHead.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
                    }
                }
                switch parsed {
                case .success(let head): serve(head)
                case .failure: respond(.text(400, "bad request"), headOnly: false)
                }
            case .failure(.tooLarge):
                done = true
                respond(.text(431, "request head too large"), headOnly: false)
            case .failure:
                done = true
                respond(.text(400, "bad request"), headOnly: false)
            }
        }
    }

    private func serve(_ head: HTTPRequestHead) {
        let headOnly = head.method == "HEAD"
        guard server.admits(peer.ip) else {
            respond(.text(403, "\(peer.ip) is not in admin.clients"), headOnly: headOnly)
            return
        }
        guard head.method == "GET" || headOnly else {
            var response = AdminResponse.text(405, "only GET and HEAD")
            response.extraHeaders = [HTTPHeader(name: "Allow", value: "GET, HEAD")]
            respond(response, headOnly: false)
            return
        }
        guard let route = AdminRoute(target: head.target) else {
            respond(.text(404, "not found: try " + AdminRoute.allCases.map(\.rawValue).joined(separator: " ")), headOnly: headOnly)
            return
        }
        server.answer(route, on: loop) { [self] response in respond(response, headOnly: headOnly) }
    }

    private func respond(_ response: AdminResponse, headOnly: Bool) {
        channel.send(response.bytes(headOnly: headOnly)) { [self] _ in
            // Half-close, then wait for the client's close (or the timer): closing with its bytes
            // unread would reset the connection and could lose the answer.
            channel.socket.shutdownWrite()
            channel.setReadHandler { [self] in drain() }
            drain()
        }
    }

    private func drain() {
        while true {
            switch Result(catching: { () throws(SocketError) in try channel.read(into: loop.scratch) }) {
            case .success(.some(let n)) where n > 0: continue
            case .success(.none): return
            default: close(); return
            }
        }
    }

    private func close() {
        deadline.cancel()
        channel.close()
        server.closed(self)
    }
}
