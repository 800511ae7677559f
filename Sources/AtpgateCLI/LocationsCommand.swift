import ArgumentParser
import AtpgatePolicy

/// `atpgate locations [--catalog PATH]`: the ATP service locations and their hosts.
struct LocationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locations",
        abstract: "List the ATP service locations and their hosts from the catalog."
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
