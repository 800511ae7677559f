import AtpgateNet
import AtpgatePolicy

/// The one-line reason for a refused address, shared by the proxy's 403 and `atpgate explain`.
public enum AddressDenial {
    public static func message(address: IPAddress, host: Host, rule: RuleReference) -> String {
        if rule.text.hasPrefix("pin:") {
            return "address \(address) of \(host) is outside the pinned service-tag prefixes (\(rule.text))"
        }
        return "address \(address) of \(host) is in a denied range (\(rule.text))"
    }
}
