import AtpgatePolicy

/// `atpgate doctor`: every ATP endpoint a policy allows, checked from the proxy host step by step (see
/// `DoctorStep`), one after another. A policy without an `atp` block has its own allow rules checked
/// instead, which the report says.
public enum Doctor {
    /// Runs every check. Throws only when it cannot start (the `--cafile` bundle cannot be used); every
    /// endpoint's failure is a row of the report.
    public static func run(policy: Policy, options: DoctorOptions) throws(DoctorError) -> DoctorReport {
        guard options.timeout > 0, options.timeout <= 600 else {
            throw DoctorError("--timeout must be between 0 and 600 seconds, got \(options.timeout)")
        }
        let check = EndpointCheck(policy: policy, options: options, tls: try DoctorTLSContext(caFile: options.caFile))
        let usesAtp = policy.hasAtpBlock
        let endpoints = usesAtp ? policy.atpEndpoints : policy.ruleEndpoints
        let source = usesAtp ? "the atp block's endpoints" : "no atp block: the policy's own allow rules"
        return DoctorReport(policy: policy.file, source: source, results: endpoints.map(check.run))
    }
}
