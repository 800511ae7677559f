import AtpgateClientConfig
import AtpgatePolicy
import Foundation
import Testing

/// The modern (v3.x) sensor domain from the shipped catalog in a PAC file, evaluated by node (the
/// command-line side of the modern hosts is AtpgateWindowsTests.ModernSensorCLITests).
struct ModernSensorPACTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let catalog = repository + "/policies/" + ServiceLocationCatalog.defaultFileName

    /// A scratch folder, removed with the value.
    final class Folder {
        let path = NSTemporaryDirectory() + "atpgate-clientconfig-tests-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func write(_ name: String, _ data: Data) throws -> String {
            let file = path + "/" + name
            try data.write(to: URL(fileURLWithPath: file))
            return file
        }
    }

    /// A policy beside nothing: the shipped catalog is named by its absolute path.
    static func writePolicy(_ folder: Folder, atp: String) throws -> String {
        try folder.write("atpgate.yaml", Data("version: 1\natp: {\(atp), catalog: \"\(catalog)\"}\n".utf8))
    }

    @Test(.enabled(if: PACFileTests.node != nil, "node is not installed"))
    func pacFileSendsOnlyNamesBelowTheDomainToTheProxy() throws {
        let folder = try Folder()
        let policy = try PolicyLoader.load(path: try Self.writePolicy(folder, atp: "sensors: [modern], console: false, crl: false"))
        let pac = PACFile.generate(policy: policy, proxy: "proxy.corp.example:3128", others: .direct)
        #expect(pac.contains(#"dnsDomainIs(host, ".endpoint.security.microsoft.com")"#))
        let cases: [(String, String)] = [
            ("x.endpoint.security.microsoft.com", PACFileTests.proxy), ("a.b.endpoint.security.microsoft.com", PACFileTests.proxy),
            ("X.Endpoint.Security.Microsoft.Com.", PACFileTests.proxy), ("endpoint.security.microsoft.com", "DIRECT"),
            ("x.endpoint.security.microsoft.com.evil.com", "DIRECT"), ("xendpoint.security.microsoft.com", "DIRECT"),
            ("contoso-corpsensorapi.atp.azure.com", "DIRECT"),
        ]
        #expect(try PACFileTests.evaluate(pac, hosts: cases.map(\.0)) == cases.map(\.1))
    }
}
