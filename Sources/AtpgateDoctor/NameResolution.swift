#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import AtpgateNet
import AtpgateIO
import AtpgatePolicy

/// The resolve step: a name to addresses, as the proxy finds them. The policy's `hosts` first (no DNS, as
/// the engine does), then getaddrinfo. getaddrinfo has no time-out of its own, so it runs on a Dispatch
/// thread and the step gives up after `timeout`; a lookup still hanging then is left to finish on its own
/// (the process ends soon after: doctor is a one-shot command).
enum NameResolution {
    static func addresses(of host: Host, policy: Policy, timeout: Double) throws(StepFailure) -> [IPAddress] {
        switch host {
        case .ip(let address): return [address]
        case .name(let name):
            if let mapped = policy.staticAddresses(for: host) { return mapped }
            return try lookup(name, timeout: timeout)
        }
    }

    /// Written once by the lookup thread before it signals; read by the caller only after that signal.
    private final class Answer: @unchecked Sendable {
        var result: Result<[IPAddress], StepFailure> = .success([])
    }

    private static func lookup(_ name: String, timeout: Double) throws(StepFailure) -> [IPAddress] {
        let answer = Answer()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            answer.result = getaddrinfo(name)
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else {
            throw StepFailure(step: .resolve, reason: "DNS lookup of \(name) timed out after \(Seconds.text(timeout))")
        }
        return try answer.result.get()
    }

    /// TCP addresses of both families, without duplicates, in the resolver's order (the engine's lookup).
    private static func getaddrinfo(_ name: String) -> Result<[IPAddress], StepFailure> {
        AddressLookup.tcpAddresses(of: name).mapError { StepFailure(step: .resolve, reason: "DNS: \($0.reason)") }
    }
}

/// Seconds as people read them: "5s", "0.5s".
enum Seconds {
    static func text(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }
}
