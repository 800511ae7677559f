/// Lexical path helpers for files named inside a policy. Files referenced from a policy
/// are relative to the policy's own folder, not the working directory, so a policy and
/// its catalog can be moved together and loaded from anywhere.
enum PathText {
    /// Paths in messages are quoted like untrusted text but not cut at the usual 80
    /// characters: a shortened path cannot be opened or searched for.
    static let shownLimit = 4096

    /// The last path component ("a/b/c.yaml" -> "c.yaml"); used in rule references,
    /// which must not change when the same policy is loaded through another path.
    static func basename(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }

    /// The folder part with no trailing slash ("a/b.yaml" -> "a", "/b.yaml" -> "/",
    /// "b.yaml" -> ""). Empty means the working directory.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        let folder = path[..<slash]
        return folder.isEmpty ? "/" : String(folder)
    }

    /// `path` as given when absolute, else joined to `folder`. Not normalised: "../x"
    /// stays, which `fopen` handles and which keeps the text recognisable in messages.
    static func resolve(_ path: String, relativeTo folder: String) -> String {
        if path.hasPrefix("/") || folder.isEmpty { return path }
        return folder.hasSuffix("/") ? folder + path : folder + "/" + path
    }
}
