import AtpgatePolicy

/// The steps of one endpoint's check, in order. Each runs only when the one before it passed; the table
/// names the last one reached.
public enum DoctorStep: String, Sendable, CaseIterable {
    /// A deny rule of the policy refuses the endpoint (the incident switch): nothing else is tried.
    case policy
    /// The name to addresses: the policy's `hosts` when mapped, else DNS (getaddrinfo).
    case resolve
    /// The addresses through the policy's vetting (`networks`, built-in ranges, `atp.pin`), as the proxy does.
    case vet
    /// A TCP connection to the first address that answers.
    case connect
    /// The TLS handshake with SNI, the chain and the host name verified (HTTPS endpoints).
    case tls
    /// `GET /tri/sensor/api/ping` (classic sensor hosts): a 200 with a non-empty body, the sensor service's
    /// version.
    case ping
}

/// How one endpoint's check ended.
public enum EndpointOutcome: Sendable, Equatable {
    /// Every step of the endpoint passed; the detail is what the last one learnt ("TLSv1.3",
    /// "version 2.250.1").
    case passed(String)
    case failed(String)
    /// No connection can be tried (a wildcard, an address range, a port range).
    case notCheckable(String)
}

/// One row of the doctor's table.
public struct EndpointResult: Sendable {
    public let endpoint: AtpEndpoint
    /// The address connected to or tried ("127.0.0.1:443"), or nil before one was known.
    public let address: String?
    /// The last step run (the failed one when the check failed); nil when none could be.
    public let step: DoctorStep?
    public let outcome: EndpointOutcome

    public init(endpoint: AtpEndpoint, address: String?, step: DoctorStep?, outcome: EndpointOutcome) {
        self.endpoint = endpoint
        self.address = address
        self.step = step
        self.outcome = outcome
    }

    public var passed: Bool {
        if case .passed = outcome { return true }
        return false
    }

    public var failed: Bool {
        if case .failed = outcome { return true }
        return false
    }
}

/// A step's failure on its way out: the step and the reason, which the checker turns into a row.
struct StepFailure: Error {
    let step: DoctorStep
    let reason: String
    /// The address the failure concerns, when there is one.
    var address: String? = nil
}
