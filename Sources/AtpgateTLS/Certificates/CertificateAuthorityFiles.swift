#if canImport(Glibc)
import Glibc
#endif

extension CertificateAuthority {
    /// The file names `atpgate ca init` writes in its directory.
    public static let certificateFileName = "ca.pem"
    public static let keyFileName = "ca-key.pem"

    /// The paths `write(toDirectory:)` wrote.
    public struct WrittenFiles: Sendable, Equatable {
        public let certificate: String
        public let key: String
    }

    /// Writes the CA to `directory` as `ca-key.pem` (PKCS#8, mode 0600) and `ca.pem` (mode 0644), for
    /// `atpgate ca init`.
    ///
    /// A missing directory is created with mode 0700 (its parent must exist); an existing one is used as it
    /// is, unless group or others may write to it (they could swap the files). Existing files are never
    /// overwritten: if either exists, nothing is written. The key file is created with O_EXCL and mode 0600
    /// from the start, so the key is never readable by others, not even for a moment. If a write fails
    /// midway, the files this call created are removed.
    public func write(toDirectory directory: String) throws(CertificateFileError) -> WrittenFiles {
        try Self.prepareDirectory(directory)
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let files = WrittenFiles(certificate: base + Self.certificateFileName, key: base + Self.keyFileName)
        for path in [files.key, files.certificate] {
            var info = stat()
            if lstat(path, &info) == 0 {
                throw CertificateFileError(path: path, reason: "already exists; not overwritten (move it away to make a new CA)")
            }
            guard errno == ENOENT else { throw CertificateFileError(path: path, reason: Self.lastError()) }
        }
        try Self.createFile(files.key, mode: 0o600, contents: Array(key.pem.utf8))
        do {
            try Self.createFile(files.certificate, mode: 0o644, contents: Array(certificate.pem.utf8))
        } catch {
            unlink(files.key)
            throw error
        }
        return files
    }

    /// Creates `directory` with mode 0700, or checks that an existing one is not writable by group or others.
    static func prepareDirectory(_ directory: String) throws(CertificateFileError) {
        if mkdir(directory, 0o700) == 0 {
            // The umask may have cleared owner bits; set exactly 0700 (never wider than asked).
            guard chmod(directory, 0o700) == 0 else { throw CertificateFileError(path: directory, reason: lastError()) }
            return
        }
        guard errno == EEXIST else { throw CertificateFileError(path: directory, reason: lastError()) }
        var info = stat()
        guard stat(directory, &info) == 0 else { throw CertificateFileError(path: directory, reason: lastError()) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw CertificateFileError(path: directory, reason: "not a directory") }
        let mode = info.st_mode & 0o7777
        guard mode & 0o022 == 0 else {
            throw CertificateFileError(path: directory, reason: "group or others may write to this directory (mode 0\(String(mode, radix: 8))); "
                                       + "use a directory only its owner can write to")
        }
    }

    /// Creates `path` (which must not exist) with exactly `mode` and writes `contents`, flushed to disk.
    static func createFile(_ path: String, mode: mode_t, contents: [UInt8]) throws(CertificateFileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw CertificateFileError(path: path, reason: errno == EEXIST ? "already exists; not overwritten" : lastError())
        }
        var failure: String?
        // The umask may have cleared bits of `mode`; fchmod sets exactly `mode`, which is never wider.
        if fchmod(descriptor, mode) != 0 { failure = lastError() }
        var offset = 0
        while failure == nil && offset < contents.count {
            let count = contents[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { failure = lastError() } else { offset += count }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = lastError() }
        if close(descriptor) != 0 && failure == nil { failure = lastError() }
        if let failure {
            unlink(path)
            throw CertificateFileError(path: path, reason: failure)
        }
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
