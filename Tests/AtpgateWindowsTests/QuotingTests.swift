import AtpgateWindows
import Testing

/// Quoting for the lines people paste on Windows (cmd refusals are tested with the sensor command
/// lines in AtpgateClientConfigTests.SensorCommandTests).
struct QuotingTests {
    @Test(arguments: [("a", #""a""#), ("a`b", #""a``b""#), ("$env:x", #""`$env:x""#), ("say \"hi\"", #""say `"hi`"""#),
                      ("a\u{201C}b", "\"a`\u{201C}b\"")])
    func powerShellQuoting(value: String, expected: String) {
        #expect(Quoting.powerShell(value) == expected)
    }
}
