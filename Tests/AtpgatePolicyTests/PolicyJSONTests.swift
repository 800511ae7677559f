#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet
import AtpgatePolicy
import Foundation
import Testing

/// `Policy.effectiveJSON` (`/policy` on the admin listener), read back by a real JSON parser (Python's).
struct PolicyJSONTests {
    static let yaml = """
        version: 1
        mode: report
        listen: ["127.0.0.1:3128", "[::1]:3128"]
        admin: {listen: "127.0.0.1:9090", clients: ["10.0.0.0/8"]}
        allow:
          - "a.example.com"
          - "*.b.example.com:80,8080"
          - "http://pki.example.com/crl/*"
        deny:
          - "evil.example.com"
        networks:
          deny: ["203.0.113.0/24"]
          allow: ["10.9.0.0/16"]
        hosts:
          z.example.com: 192.0.2.2
          a.example.com: ["192.0.2.1", "2001:db8::1"]
        timeouts: {connect: 2.5s, tunnel: 1h}
        limits: {max_connections: 100}
        log: {access: "logs/a \\"b\\".log"}

        """

    /// Runs `script` on the JSON with python3's json module; its stdout, or the parser's complaint.
    static func python(_ json: String, _ script: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import json, sys\nd = json.load(sys.stdin)\n" + script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        input.fileHandleForWriting.write(Data(json.utf8))
        try input.fileHandleForWriting.close()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout + stderr, as: UTF8.self))
    }

    @Test func parsesAndNamesWhereEachRuleCameFrom() throws {
        let policy = try Fixture.policy(Self.yaml)
        let script = """
            for kind in ("allow", "deny"):
                for r in d[kind]: print(kind, r["rule"], r["from"])
            for kind in ("deny", "allow"):
                for n in d["networks"][kind]: print("networks", kind, n["network"], n["from"])
            print("builtin", len(d["networks"]["builtin"]), d["networks"]["builtin"][0]["from"])
            print("hosts", json.dumps(d["hosts"]))
            print("mode", d["mode"], d["default"], d["on_reload"])
            print("listen", d["listen"], d["clients"])
            print("admin", d["admin"]["listen"], d["admin"]["clients"])
            print("timeouts", d["timeouts"]["connect"], d["timeouts"]["tunnel"], d["timeouts"]["idle"])
            print("limits", d["limits"]["max_connections"], d["limits"]["max_connections_per_client"], d["limits"]["head_bytes"])
            print("log", d["log"]["access"])
            print("files", d["file"], d["source_files"])
            print("rest", d["pin"], d["inspection"], d["tls"])
            """
        let result = try Self.python(policy.effectiveJSON, script)
        #expect(result.status == 0, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines == [
            "allow a.example.com:443 atpgate.yaml:6",
            "allow *.b.example.com:80,8080 atpgate.yaml:7",
            "allow http://pki.example.com:80/crl/* atpgate.yaml:8",
            "deny evil.example.com:* atpgate.yaml:10",
            "networks deny 203.0.113.0/24 atpgate.yaml:12",
            "networks allow 10.9.0.0/16 atpgate.yaml:13",
            "builtin 16 builtin:0.0.0.0/8",
            #"hosts {"a.example.com": ["192.0.2.1", "2001:db8::1"], "z.example.com": ["192.0.2.2"]}"#,
            "mode report deny keep",
            "listen ['127.0.0.1:3128', '[::1]:3128'] ['127.0.0.0/8', '::1/128']",
            "admin 127.0.0.1:9090 ['10.0.0.0/8']",
            "timeouts 2.5 3600 300",
            "limits 100 None 16384",
            #"log /etc/atpgate/logs/a "b".log"#,
            "files /etc/atpgate/atpgate.yaml ['/etc/atpgate/atpgate.yaml']",
            "rest None None {'sni': 'enforce', 'ports': [443]}",
        ], "\(result.output)")
    }

    @Test func defaultsAreNullWhereOff() throws {
        let policy = try Fixture.policy("version: 1\n")
        let script = """
            print(d["admin"], d["timeouts"]["tunnel"], d["limits"]["max_connections"], d["log"]["access"], d["mode"])
            print(d["allow"], d["deny"], d["hosts"])
            """
        let result = try Self.python(policy.effectiveJSON, script)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == "None None None None enforce\n[] [] {}\n")
    }

    @Test func inspectionShowsPathsNotContents() throws {
        let policy = try Fixture.policy("""
            version: 1
            inspection:
              hosts: ["api.example.com"]
              ca: {cert: ca.pem, key: ca-key.pem}
              clients: {ca: clients-ca.pem}
            allow: ["https://api.example.com/v1/*"]
            """)
        let result = try Self.python(policy.effectiveJSON, """
            i = d["inspection"]
            print(i["hosts"], i["from"])
            print(any("/etc/atpgate/ca-key.pem" in line for line in i["summary"]))
            print(d["allow"][0]["rule"], d["allow"][0]["from"])
            """)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == "['api.example.com'] atpgate.yaml:2\nTrue\nhttps://api.example.com:443/v1/* atpgate.yaml:6\n")
    }

    @Test func isDeterministicAndPretty() throws {
        let json = try Fixture.policy(Self.yaml).effectiveJSON
        #expect(json == (try Fixture.policy(Self.yaml).effectiveJSON))
        #expect(json.hasPrefix("{\n  \"file\": \"/etc/atpgate/atpgate.yaml\",\n  \"source_files\": [\n    \"/etc/atpgate/atpgate.yaml\"\n  ],\n"))
        #expect(json.hasSuffix("  \"default\": \"deny\"\n}\n"))
    }

    /// The escaper, through a policy string that carries every awkward character: python must read back
    /// exactly what was written.
    @Test func escapesQuotesBackslashesAndControlCharacters() throws {
        let awkward = "a\"b\\c\u{01}\t\u{1F}\u{7F}é/ü"
        let policy = try PolicyLoader.parse(yaml: "version: 1\n", file: awkward)
        let json = policy.effectiveJSON
        #expect(json.contains(#""file": "a\"b\\c\u0001\u0009\u001f\u007fé/ü","#))
        let result = try Self.python(json, "sys.stdout.write(json.dumps(d['file']))")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == #""a\"b\\c\u0001\t\u001f\u007f\u00e9/\u00fc""#)
    }
}
