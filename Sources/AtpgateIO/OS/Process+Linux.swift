#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings a proxy needs before it serves.
public enum ProcessSetup {
    /// A write or splice into a closed socket raises SIGPIPE; the engine handles EPIPE instead.
    public static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Raises the soft descriptor limit to the hard limit (every tunnel needs two, plus pipes).
    /// Returns the limit now in force.
    @discardableResult
    public static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }

    /// Counts this process's open descriptors (Linux: /proc/self/fd).
    public static func openDescriptorCount(pid: Int32? = nil) -> Int {
        let path = pid.map { "/proc/\($0)/fd" } ?? "/proc/self/fd"
        guard let dir = opendir(path) else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { count += 1 }
        }
        return count - 1 // the directory stream itself
    }
}
