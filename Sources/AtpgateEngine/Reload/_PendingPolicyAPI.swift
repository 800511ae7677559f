// TEMPORARY until the policy-atp branch lands (it adds these to Policy).
import AtpgatePolicy
public enum ReloadMode: String, Sendable { case keep; case cutDenied = "cut-denied" }
extension Policy {
    public var sourceFiles: [String] { [file] }
    public var onReload: ReloadMode { .keep }
}
