#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Tells when any of a set of files may have changed on disk (Linux inotify; Dispatch on Linux has
/// no file-system object source). Confined to `queue`.
///
/// It watches each file's directory — an editor's write-then-rename and a Kubernetes ConfigMap's
/// symlink swap both show up there — and, for a symlink, also the file it resolves to and that
/// file's directory, so an in-place edit of the target is seen. Events are not interpreted: the
/// caller re-reads the files and compares, so a spurious wake-up costs one read.
final class FileWatcher: @unchecked Sendable {
    private let queue: DispatchQueue
    private let onChange: () -> Void
    private var fd: Int32 = -1
    private var source: DispatchSourceRead?
    private var watches: [Int32] = []
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 8)

    private static let directoryEvents = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
                                                | IN_MODIFY | IN_ATTRIB | IN_ONLYDIR)
    private static let fileEvents = UInt32(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

    init(queue: DispatchQueue, onChange: @escaping () -> Void) {
        self.queue = queue
        self.onChange = onChange
    }

    deinit {
        buffer.deallocate()
    }

    /// (Re)starts watching `paths`. Call again after a reload: a symlink may now point elsewhere.
    func watch(_ paths: [String]) -> Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        if fd < 0 {
            fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { return false }
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            let descriptor = fd
            source.setEventHandler { [weak self] in self?.drain() }
            source.setCancelHandler { close(descriptor) }
            source.resume()
            self.source = source
        }
        for watch in watches { inotify_rm_watch(fd, watch) }
        watches.removeAll()
        var targets: [(String, UInt32)] = []
        for path in paths {
            targets.append((Self.directory(of: path), Self.directoryEvents))
            if let resolved = Self.resolve(path), resolved != path {
                targets.append((resolved, Self.fileEvents))
                targets.append((Self.directory(of: resolved), Self.directoryEvents))
            } else {
                targets.append((path, Self.fileEvents))
            }
        }
        var seen = Set<String>()
        for (path, mask) in targets where seen.insert(path).inserted {
            let watch = inotify_add_watch(fd, path, mask)
            if watch >= 0 { watches.append(watch) }
        }
        return !watches.isEmpty
    }

    func stop() {
        dispatchPrecondition(condition: .onQueue(queue))
        source?.cancel()
        source = nil
        fd = -1
        watches.removeAll()
    }

    /// Reads every pending event (a handler must drain), then reports once.
    private func drain() {
        var sawEvent = false
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { sawEvent = true; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        if sawEvent { onChange() }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// The path with every symlink resolved, or nil when it cannot be resolved.
    static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
