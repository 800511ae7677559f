import AtpgateNet
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads and compiles policy files. All failures are PolicyError with a position, so
/// `atpgate --check` can print them verbatim.
public enum PolicyLoader {
    /// Reads `path` and parses it. I/O failures are reported at line 0, column 0.
    public static func load(path: String) throws(PolicyError) -> Policy {
        let text: String
        switch FileText.utf8(path) {
        case .success(let read): text = read
        case .failure(.unreadable(let reason)):
            throw PolicyError(file: path, line: 0, column: 0, message: "cannot read policy file: \(reason)")
        case .failure(.notUTF8):
            throw PolicyError(file: path, line: 0, column: 0, message: "policy file is not valid UTF-8")
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses policy YAML; `file` is used for messages and rule references. Files the
    /// policy names (the `atp` catalog, the service-tag file) are read relative to
    /// `file`'s folder.
    public static func parse(yaml: String, file: String) throws(PolicyError) -> Policy {
        let nodes = YAMLNodes(file: file)
        guard let root = try YAMLSource.compose(yaml, file: file) else {
            throw PolicyError(file: file, line: 1, column: 1, message: "policy file is empty (needs at least 'version: 1')")
        }
        var builder = PolicyBuilder(file: file, nodes: nodes)
        try builder.read(root)
        return builder.build()
    }
}

/// Minimal file reading without Foundation (only the service-tag JSON decoding uses it);
/// policy and catalog files are small.
enum FileText {
    static func read(_ path: String) -> [UInt8]? {
        guard let handle = fopen(path, "rb") else { return nil }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, handle)
            if count > 0 { bytes += buffer[0..<count] }
            if count < buffer.count {
                if ferror(handle) != 0 { return nil }
                break
            }
        }
        return bytes
    }

    enum Failure: Error {
        case unreadable(String)
        case notUTF8
    }

    /// The whole file as UTF-8 text; the failure carries strerror's text when unreadable.
    static func utf8(_ path: String) -> Result<String, Failure> {
        guard let bytes = read(path) else { return .failure(.unreadable(lastError())) }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(.notUTF8) }
        return .success(text)
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
