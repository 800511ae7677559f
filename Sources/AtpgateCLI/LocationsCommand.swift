import ArgumentParser
import AtpgatePolicy

/// `atpgate locations [--catalog PATH]`: per cloud the classic (v2.x) instance host templates and
/// the modern (v3.x) sensor hosts, then the ATP service locations and their hosts.
struct LocationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locations",
        abstract: "List the catalog: classic and modern sensor hosts per cloud, service locations, CRL rules."
    )

    @Option(name: .long, help: "Catalog file (default: policies/atp-service-locations.yaml).")
    var catalog: String = "policies/" + ServiceLocationCatalog.defaultFileName

    func run() throws {
        do {
            let loaded = try ServiceLocationCatalog.load(path: catalog)
            for line in loaded.listing { print(line) }
        } catch {
            Output.error("\(error)")
            throw ExitCode(1)
        }
    }
}
