import ArgumentParser

/// `atpgate` — a forward proxy for Microsoft Defender for Identity sensors.
/// With no arguments it runs the proxy on the shipped policy (`run` is the default subcommand).
public struct AtpgateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "atpgate",
        abstract: "An allowlisting forward proxy for Microsoft Defender for Identity (Azure ATP) sensors.",
        subcommands: [RunCommand.self, CheckCommand.self, ExplainCommand.self, LocationsCommand.self, PACCommand.self,
                      WininetCommand.self, WinhttpCommand.self, SensorCommandCommand.self, CACommand.self,
                      DoctorCommand.self, ProbeCommand.self],
        defaultSubcommand: RunCommand.self
    )

    public init() {}
}
