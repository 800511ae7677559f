#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and writes for the Windows commands (blobs, .reg files in UTF-16): bytes,
/// not text, and without Foundation, like the rest of the CLI.
enum BinaryFile {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws(Failure) -> [UInt8] {
        guard let handle = fopen(path, "rb") else { throw Failure(description: "cannot read \(path): \(lastError())") }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, handle)
            bytes += buffer[0..<count]
            if count < buffer.count {
                if ferror(handle) != 0 { throw Failure(description: "cannot read \(path): \(lastError())") }
                return bytes
            }
            // Settings blobs and .reg exports are small; a huge file is not one of them.
            if bytes.count > 16 << 20 { throw Failure(description: "\(path) is larger than 16 MiB") }
        }
    }

    /// Writes `bytes` to `path`, or to stdout (descriptor 1, unbuffered) when `path` is nil.
    static func write(_ bytes: [UInt8], to path: String?) throws(Failure) {
        let descriptor = path.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? STDOUT_FILENO
        guard descriptor >= 0 else { throw Failure(description: "cannot write \(path ?? "stdout"): \(lastError())") }
        defer { if path != nil { close(descriptor) } }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "cannot write \(path ?? "stdout"): \(lastError())") }
            offset += count
        }
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
