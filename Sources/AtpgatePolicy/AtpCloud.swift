/// The Defender for Identity clouds. One list for the catalog's `clouds:` keys and the
/// policy's `atp.cloud`, so a cloud cannot exist in one file and be unknown to the other.
enum AtpCloud {
    static let names = ["commercial", "gcc", "gcc-high"]
    static let defaultName = "commercial"

    /// The catalog name for a policy's `atp.cloud` text. "dod" is accepted because
    /// Microsoft's US Government pages call GCC High and DoD one environment.
    static func canonical(_ text: String) -> String? {
        let lower = text.lowercased()
        if lower == "dod" { return "gcc-high" }
        return names.contains(lower) ? lower : nil
    }
}
