import ArgumentParser
import AtpgateTLS
#if canImport(Glibc)
import Glibc
#endif

/// `atpgate ca`: the CA TLS inspection signs its leaf certificates with.
struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Manage the CA that TLS inspection signs its leaf certificates with.",
        subcommands: [CAInitCommand.self]
    )
}

/// `atpgate ca init --out DIR [--permit DOMAIN]... [--name CN] [--days N]`: a new inspection CA in DIR
/// (`ca.pem` and `ca-key.pem`), then how to trust it. Exit 0 when written, 1 when refused or failed (one
/// line on stderr), ArgumentParser's usage status for bad arguments.
struct CAInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new inspection CA: ca.pem (for clients to trust) and ca-key.pem (stays on the proxy host)."
    )

    @Option(name: .long, help: "Directory for ca.pem and ca-key.pem (created with mode 0700 if missing; existing files are never overwritten).")
    var out: String

    @Option(name: .customLong("permit"),
            help: "Limit the CA to this DNS domain and its subdomains (repeatable; a leading '.' means subdomains only).")
    var permit: [String] = []

    @Option(name: .long, help: "The CA's common name.")
    var name: String = "atpgate inspection CA"

    @Option(name: .long, help: "Days the CA is valid.")
    var days: Int = 3650

    func validate() throws {
        do {
            try CertificateAuthority.checkPermittedDNS(permit)
        } catch {
            throw ValidationError("--permit: \(error)")
        }
        guard (1...CertificateAuthority.maximumValidityDays).contains(days) else {
            throw ValidationError("--days must be 1 to \(CertificateAuthority.maximumValidityDays)")
        }
        guard (1...64).contains(name.utf8.count) else { throw ValidationError("--name must be 1 to 64 characters") }
    }

    func run() throws {
        let files: CertificateAuthority.WrittenFiles
        let ca: CertificateAuthority
        do {
            ca = try CertificateAuthority.create(commonName: name, permittedDNS: permit, validityDays: days)
            files = try ca.write(toDirectory: out)
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(1)
        }
        print(CAInitReport.text(ca: ca, files: files, permitted: permit), terminator: "")
    }
}

/// What `ca init` prints once the files are written: where they are, the fingerprint clients can check, and
/// how to trust the CA. Public material only: the key's path, never its contents.
enum CAInitReport {
    static func text(ca: CertificateAuthority, files: CertificateAuthority.WrittenFiles, permitted: [String]) -> String {
        let fingerprint = ca.certificate.sha256.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }
            .joined(separator: ":")
        let constraints = permitted.isEmpty ? "none (the CA can vouch for any name; --permit limits it)"
            : "only " + permitted.joined(separator: ", ") + " (no IP addresses)"
        return """
            Created the TLS inspection CA "\(ca.certificate.subjectCommonName ?? "")".
              certificate:         \(files.certificate)
              private key:         \(files.key) (mode 0600)
              SHA-256 fingerprint: \(fingerprint)
              valid until:         \(utcDate(ca.certificate.notAfter))
              names:               \(constraints)

            \(CertificateAuthority.keyFileName) must stay on the proxy host: never copy it to clients or anywhere else.
            Clients need only \(CertificateAuthority.certificateFileName), as a trusted root:
              Windows, on one machine (elevated prompt):
                certutil -addstore Root \(CertificateAuthority.certificateFileName)
              Windows, by Group Policy: import \(CertificateAuthority.certificateFileName) under
                Computer Configuration > Windows Settings > Security Settings > Public Key Policies > Trusted Root Certification Authorities
              Debian/Ubuntu (as root):
                cp \(CertificateAuthority.certificateFileName) /usr/local/share/ca-certificates/atpgate-inspection.crt && update-ca-certificates

            """
    }

    /// "2036-05-01 12:00 UTC".
    static func utcDate(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "\(seconds)" }
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M UTC", &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
