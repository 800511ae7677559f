/// What a live reload does to connections that are already established (`on_reload:`).
/// `keep` lets every open tunnel run on under the policy it was decided with;
/// `cutDenied` closes those the new policy would no longer allow.
public enum ReloadMode: String, Sendable {
    case keep
    case cutDenied = "cut-denied"
}
