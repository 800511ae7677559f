import AtpgateNet
import AtpgateIO
import AtpgatePolicy

/// One endpoint through the steps, stopping at the first that fails: policy, resolve, vet, connect, then
/// tls for HTTPS endpoints and ping for classic sensor hosts. Plain-HTTP endpoints (the CRL) stop after
/// the TCP connect: the proxy forwards their requests one by one, and there is no request worth sending
/// (a CRL path changes with every certificate).
struct EndpointCheck {
    let policy: Policy
    let options: DoctorOptions
    let tls: DoctorTLSContext

    func run(_ endpoint: AtpEndpoint) -> EndpointResult {
        if let reason = endpoint.notCheckable {
            return EndpointResult(endpoint: endpoint, address: nil, step: nil, outcome: .notCheckable(reason))
        }
        var address: String? = nil
        do throws(StepFailure) {
            let (detail, last) = try steps(endpoint, address: &address)
            return EndpointResult(endpoint: endpoint, address: address, step: last, outcome: .passed(detail))
        } catch {
            return EndpointResult(endpoint: endpoint, address: error.address ?? address, step: error.step, outcome: .failed(error.reason))
        }
    }

    /// The steps in order; `address` is filled in as soon as one is known, for the row of a later failure.
    private func steps(_ endpoint: AtpEndpoint, address: inout String?) throws(StepFailure) -> (String, DoctorStep) {
        let host: Host
        switch endpoint.target {
        case .name(let name): host = .name(name)
        case .address(let ip): host = .ip(ip)
        case .wildcard, .network: throw StepFailure(step: .resolve, reason: "not checkable")
        }
        guard let port = endpoint.port else { throw StepFailure(step: .resolve, reason: "not checkable") }
        if let rule = endpoint.deniedBy {
            throw StepFailure(step: .policy, reason: "refused by the deny rule at \(rule)")
        }
        let redirect = options.connectTo.first { $0.matches(host: host, port: port) }
        let dialHost = redirect?.address ?? host
        let dialPort = redirect?.addressPort ?? port

        let addresses = try NameResolution.addresses(of: dialHost, policy: policy, timeout: options.timeout)
        let others = addresses.count > 1 ? " (+\(addresses.count - 1))" : ""
        address = addresses.first.map { SocketAddress(ip: $0, port: dialPort).description + others }

        // Vetted under the endpoint's own name, so `atp.pin` applies even when --connect-to sends it elsewhere.
        if case .denied(let refused, let rule) = policy.vet(addresses, host: host) {
            throw StepFailure(step: .vet, reason: "\(refused) is refused by \(rule)")
        }

        let connection = try TCPConnection.connect(to: addresses, port: dialPort, timeout: options.timeout)
        address = connection.address
        guard endpoint.isHTTPS else { return ("TCP connected (plain HTTP: nothing fetched)", .connect) }

        let session = try TLSSession(context: tls, connection: connection)
        let handshake = try session.handshake(host: host)
        guard endpoint.kind == .classicSensor else { return (handshake, .tls) }

        let version = try SensorPing.run(session, host: host.description)
        return ("\(version) (\(handshake.prefix { $0 != "," }))", .ping)
    }
}
