// libFuzzer target: the policy loader on hostile YAML.
//
// The input, as UTF-8 text, is a policy file: PolicyLoader.parse(yaml:file:). The file is named as if it sat in
// the repository's policies/ folder, so an `atp:` block expands against the shipped service-location catalog.
// The same text is also parsed as a catalog (ServiceLocationCatalog.parse), the other YAML schema the loader
// reads. A policy that loads is used a little: summary, a few decisions, client checks and address vetting.
// Invariants (a violation traps, which libFuzzer reports as a crash):
// - the only failure is a PolicyError (typed throws: a trap in Yams or the schema code is the crash to find);
// - its position is non-negative and its message is one non-empty line without control characters, because
//   `atpgate check` prints `file:line:column: message` and reload failures go to the log as one line.
//
// Inputs naming /dev/, /proc/ or /sys/ are skipped: a policy may name files to read (atp.catalog,
// atp.pin.service_tags), and reading /dev/zero or /dev/stdin is the operator's choice, not a parser bug.
import AtpgateNet
import AtpgatePolicy

/// <repository>/policies/fuzz.yaml (need not exist: only its folder is used, to find the catalog).
let policyFile: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)   // Fuzz/fuzz-policy/FuzzPolicy.swift
    return parts.joined(separator: "/") + "/policies/fuzz.yaml"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if yaml.contains("/dev/") || yaml.contains("/proc/") || yaml.contains("/sys/") { return -1 }

    do throws(PolicyError) {
        let policy = try PolicyLoader.parse(yaml: yaml, file: policyFile)
        use(policy)
    } catch {
        checkError(error)
    }
    do throws(PolicyError) {
        let catalog = try ServiceLocationCatalog.parse(yaml: yaml, file: "catalog.yaml")
        _ = catalog.listing
    } catch {
        checkError(error)
    }
    return 0
}

func use(_ policy: Policy) {
    _ = policy.summary
    let loopback = IPAddress.v4(0x7F00_0001)
    _ = policy.isClientAllowed(loopback)
    _ = policy.isClientAllowed(.v6(0, 0xFFFF_0A00_0001))
    for (host, port, path) in [("example.com", UInt16(443), nil as String?),
                               ("contoso-corpsensorapi.atp.azure.com", 443, nil),
                               ("crl.microsoft.com", 80, "/pki/crl/x.crl"),
                               ("www.microsoft.com", 80, "/pkiops/certs/a?b"),
                               ("10.0.0.1", 443, nil)] {
        guard let normalized = try? Host.normalize(host) else { fail("fixed host \(host) refused") }
        let decision = policy.decide(DecisionRequest(client: loopback, host: normalized, port: port,
                                                     kind: path.map { .http(path: $0) } ?? .connect))
        _ = decision.reason
        _ = policy.staticAddresses(for: normalized)
        _ = policy.vet([.v4(0x0A00_0001), .v4(0x0808_0808), .v6(0x2001_0DB8_0000_0000, 1)], host: normalized)
    }
}

func checkError(_ error: PolicyError) {
    check(error.line >= 0 && error.column >= 0, "negative position in \(error)")
    check(!error.message.isEmpty, "empty message at \(error.line):\(error.column)")
    check(!error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
          "message is not one clean line: \(error.message.debugDescription)")
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    fatalError("fuzz-policy invariant: \(message)")
}
