import AtpgatePolicy
import Foundation
import Testing

/// `on_reload:` and the files a policy was built from (what the engine watches).
struct ReloadAndSourcesTests {
    @Test(arguments: [
        ("version: 1\n", ReloadMode.keep),
        ("version: 1\non_reload: keep\n", .keep),
        ("version: 1\non_reload: cut-denied\n", .cutDenied),
        ("on_reload: \"cut-denied\"\nversion: 1\n", .cutDenied),
    ])
    func parses(yaml: String, mode: ReloadMode) throws {
        let policy = try Fixture.policy(yaml)
        #expect(policy.onReload == mode)
        #expect(policy.summary.contains("on_reload \(mode.rawValue)"))
    }

    @Test(arguments: ["cut_denied", "Keep", "cut", "true", "~", "[keep]"])
    func refuses(value: String) throws {
        let error = try #require(Fixture.loadError("version: 1\non_reload: \(value)\n"))
        #expect((error.line, error.column) == (2, 12))
        #expect(error.message.hasPrefix("on_reload must be"))
    }

    @Test func rawValues() {
        #expect(ReloadMode(rawValue: "cut-denied") == .cutDenied)
        #expect(ReloadMode.keep.rawValue == "keep")
    }

    @Test func withoutAtpOnlyThePolicyFile() throws {
        let policy = try PolicyLoader.parse(yaml: "version: 1\n", file: "conf/atpgate.yaml")
        #expect(policy.sourceFiles == ["conf/atpgate.yaml"])
    }

    @Test(arguments: [
        ("atp: {instance: c}", ["p/atp-service-locations.yaml"]),
        ("atp: {instance: c, catalog: sub/cat.yaml}", ["p/sub/cat.yaml"]),
        ("atp: {instance: c, catalog: ../cat.yaml}", ["p/../cat.yaml"]),
        ("atp: {instance: c, catalog: ABS/cat.yaml}", ["cat.yaml"]),
        ("atp: {instance: c, pin: {service_tags: tags/ServiceTags_Public.json}}",
         ["p/atp-service-locations.yaml", "p/tags/ServiceTags_Public.json"]),
        ("atp: {instance: c, catalog: ../cat.yaml, pin: {service_tags: ABS/tags.json}}", ["p/../cat.yaml", "tags.json"]),
    ])
    func filesNamedInThePolicyAreRelativeToItsFolder(atp: String, expected: [String]) throws {
        let folder = try TemporaryFolder()
        try folder.write("cat.yaml", AtpFixture.catalog)
        try folder.write("tags.json", AtpFixture.serviceTags)
        try folder.write("p/atp-service-locations.yaml", AtpFixture.catalog)
        try folder.write("p/sub/cat.yaml", AtpFixture.catalog)
        try folder.write("p/tags/ServiceTags_Public.json", AtpFixture.serviceTags)
        let path = try folder.write("p/atpgate.yaml", "version: 1\n" + atp.replacingOccurrences(of: "ABS", with: folder.path) + "\n")
        let policy = try PolicyLoader.load(path: path)
        #expect(policy.sourceFiles == [path] + expected.map { folder.path + "/" + $0 })
        for source in policy.sourceFiles { #expect(FileManager.default.isReadableFile(atPath: source)) }
    }

    @Test func examplesReachTheCatalogOneFolderUp() throws {
        let root = ShippedPolicyTests.repository
        let policy = try PolicyLoader.load(path: root + "/policies/examples/site.yaml")
        #expect(policy.sourceFiles == [root + "/policies/examples/site.yaml",
                                       root + "/policies/examples/../atp-service-locations.yaml"])
    }
}
