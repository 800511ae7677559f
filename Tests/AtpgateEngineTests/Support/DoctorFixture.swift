import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What an `atpgate doctor` test needs, made with the real `openssl`: a test CA and a server certificate for
/// the instance "contoso" (its sensor API host, its console and the location host us1sensorapi), another CA
/// that signed nothing the server shows, a small catalog, the sensor's ping file (served by
/// `openssl s_server -WWW` from this folder), and policies beside the catalog.
final class DoctorFixture: @unchecked Sendable {
    static let sensor = "contososensorapi.atp.azure.com"
    static let console = "contoso.atp.azure.com"
    static let location = "us1sensorapi.atp.azure.com"
    static let crl = "crl.contoso.test"
    static let version = "2.250.18972.1"

    let directory: TemporaryDirectory

    /// `ping`: the file /tri/sensor/api/ping (the body with `-WWW`, the whole answer with `-HTTP`).
    init(ping: String = DoctorFixture.version + "\n") throws {
        directory = try TemporaryDirectory()
        try makeCA("ca")
        try makeCA("wrong-ca")
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("server-key.pem"),
                     "-out", file("server.csr"), "-subj", "/CN=\(Self.sensor)"])
        let extfile = try directory.write("server.ext", "subjectAltName=DNS:\(Self.sensor),DNS:\(Self.console),DNS:\(Self.location)\n")
        try openssl(["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"),
                     "-CAcreateserial", "-out", file("server.pem"), "-days", "2", "-extfile", extfile])
        try FileManager.default.createDirectory(atPath: file("tri/sensor/api"), withIntermediateDirectories: true)
        _ = try directory.write("tri/sensor/api/ping", ping)
        _ = try directory.write("atp-service-locations.yaml", """
            version: 1
            clouds:
              commercial:
                sensor: "{instance}sensorapi.atp.azure.com"
                console: "{instance}.atp.azure.com"
                modern: "*.endpoint.security.microsoft.com"
            locations:
              - {name: US, cloud: commercial, hosts: [\(Self.location)]}
            crl: ["\(Self.crl):80"]

            """)
    }

    func file(_ name: String) -> String { directory.file(name) }

    /// `openssl s_server` with the server certificate, serving this folder: `-WWW` sends each file after a
    /// "200 ok" head of its own, `-HTTP` sends the file as the whole answer (head included).
    func server(mode: String = "-WWW") throws -> TLSServer {
        try TLSServer(certificate: file("server.pem"), key: file("server-key.pem"), arguments: [mode], keeping: directory)
    }

    /// A policy beside the catalog: instance contoso, classic and modern sensors, location US, console and
    /// CRL; the sensor host mapped to 127.0.0.1 in `hosts`; loopback admitted by `networks` when asked.
    func policy(allowLoopback: Bool = true) throws -> String {
        var yaml = "version: 1\n"
        if allowLoopback { yaml += "networks:\n  allow: [\"127.0.0.0/8\"]\n" }
        yaml += """
            atp:
              instance: contoso
              sensors: [classic, modern]
              locations: [US]
            hosts:
              \(Self.sensor): 127.0.0.1

            """
        return try directory.write("atpgate.yaml", yaml)
    }

    /// `--connect-to` for every checkable endpoint: the sensor host through its `hosts` entry (empty ADDR),
    /// the others to 127.0.0.1 by address; all on `port`.
    static func connectTo(port: UInt16) -> [String] {
        ["--connect-to", "\(sensor):443::\(port)",
         "--connect-to", "\(console):443:127.0.0.1:\(port)",
         "--connect-to", "\(location):443:127.0.0.1:\(port)",
         "--connect-to", "\(crl):80:127.0.0.1:\(port)"]
    }

    /// The real binary: `atpgate doctor ARGUMENTS`.
    func doctor(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runCommand(ChildProxy.binaryPath, ["doctor", "--timeout", "5"] + arguments)
    }

    /// The table row of `endpoint` ("host:port") with its continuation lines, joined by single spaces.
    static func row(_ output: String, _ endpoint: String) -> String? {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(endpoint + " ") }) else { return nil }
        var row = [lines[start]]
        for line in lines[(start + 1)...] {
            guard line.hasPrefix("    ") else { break }
            row.append(line)
        }
        return row.map { $0.split(separator: " ").joined(separator: " ") }.joined(separator: " ")
    }

    private func makeCA(_ name: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", file("\(name)-key.pem"), "-out", file("\(name).pem"), "-days", "2", "-subj", "/CN=doctor \(name)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try runCommand("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TestError("openssl \(arguments.joined(separator: " ")): \(result.stderr)") }
    }
}
