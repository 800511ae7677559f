import AtpgateClientConfig
import AtpgateWindows
import Testing

/// Sensor command lines and the cmd quoting they depend on (PowerShell quoting: AtpgateWindowsTests.QuotingTests).
struct SensorCommandTests {
    @Test func installAndPowerShell() throws {
        let command = SensorCommand(proxyURL: "http://proxy.corp.example:3128")
        #expect(try command.installCommand() == #""Azure ATP sensor Setup.exe" /quiet NetFrameworkCommandLineArguments="/q" AccessKey="<access key>" ProxyUrl="http://proxy.corp.example:3128""#)
        #expect(command.powerShellCommand == #"Set-MDISensorProxyConfiguration -ProxyUrl "http://proxy.corp.example:3128""#)
        let withCredentials = SensorCommand(proxyURL: "http://p:1", credentials: true)
        #expect(try withCredentials.installCommand().hasSuffix(#" ProxyUrl="http://p:1" ProxyUserName="<user>" ProxyUserPassword="<password>""#))
        #expect(withCredentials.powerShellCommand.hasSuffix(" -ProxyCredential (Get-Credential)"))
    }

    @Test(arguments: [("proxy:3128", "http://proxy:3128"), ("http://Proxy:3128/", "http://proxy:3128"), ("HTTP://10.0.0.5:8080", "http://10.0.0.5:8080"),
                      ("[2001:db8::5]:3128", "http://[2001:db8::5]:3128")])
    func proxyURLs(text: String, expected: String) {
        #expect(SensorCommand.proxyURL(text) == expected)
    }

    @Test(arguments: ["proxy", "https://proxy:3128", "http://proxy:3128/x", "http://u@proxy:3128", "proxy:0", "\"a\":1"])
    func badProxyURLs(text: String) {
        #expect(SensorCommand.proxyURL(text) == nil)
    }

    @Test(arguments: ["a\"b", "50%", "a\nb"])
    func cmdRefuses(value: String) {
        #expect(throws: QuotingError.self) { try Quoting.cmd(value) }
        #expect(throws: QuotingError.self) { try SensorCommand(proxyURL: value).installCommand() }
    }
}
