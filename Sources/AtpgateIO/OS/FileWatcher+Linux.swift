#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Tells when any of a set of files may have changed on disk (Linux inotify; Dispatch on Linux has
/// no file-system object source). Confined to `queue`.
///
/// It watches each file's directory — an editor's write-then-rename and a Kubernetes ConfigMap's
/// symlink swap both show up there — and, for a symlink, also the file it resolves to and that
/// file's directory, so an in-place edit of the target is seen. Events about other files in those
/// folders are ignored; for the rest the caller re-reads the files and compares.
public final class FileWatcher: @unchecked Sendable {
    private let queue: DispatchQueue
    private let onChange: () -> Void
    private var fd: Int32 = -1
    private var source: DispatchSourceRead?
    /// Watch descriptor -> the names in that folder that matter (nil: a file watch, every event matters).
    private var watches: [Int32: Set<String>?] = [:]
    private var watchedTargets: [String: Set<String>?] = [:]
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 8)

    private static let directoryEvents = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
                                                | IN_MODIFY | IN_ATTRIB | IN_ONLYDIR)
    private static let fileEvents = UInt32(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

    public init(queue: DispatchQueue, onChange: @escaping () -> Void) {
        self.queue = queue
        self.onChange = onChange
    }

    deinit {
        buffer.deallocate()
    }

    /// (Re)starts watching `paths`. Call again after a reload: a symlink may now point elsewhere.
    public func watch(_ paths: [String]) -> Bool {
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
        // Folders with the names in them that lead to our files: the file itself, and the first
        // step of a relative symlink (the ConfigMap's "..data"). Other files there are ignored.
        var targets: [String: Set<String>?] = [:]
        func addFolder(_ folder: String, _ name: String) {
            if case .some(.some(var names)) = targets[folder] {
                names.insert(name)
                targets[folder] = names
            } else if targets[folder] == nil {
                targets[folder] = .some([name])
            }
        }
        for path in paths {
            addFolder(Self.directory(of: path), Self.basename(of: path))
            if let link = Self.linkText(path), !link.hasPrefix("/"), let first = link.split(separator: "/").first {
                addFolder(Self.directory(of: path), String(first))
            }
            let resolved = Self.resolve(path) ?? path
            targets[resolved] = .some(nil)
            if resolved != path { addFolder(Self.directory(of: resolved), Self.basename(of: resolved)) }
        }
        guard targets != watchedTargets else { return !watches.isEmpty }
        for watch in watches.keys { inotify_rm_watch(fd, watch) }
        watches.removeAll()
        for (path, names) in targets {
            let mask = names == nil ? Self.fileEvents : Self.directoryEvents
            let watch = inotify_add_watch(fd, path, mask)
            if watch >= 0 { watches[watch] = names }
        }
        watchedTargets = targets
        return !watches.isEmpty
    }

    public func stop() {
        dispatchPrecondition(condition: .onQueue(queue))
        source?.cancel()
        source = nil
        fd = -1
        watches.removeAll()
        watchedTargets.removeAll()
    }

    /// Reads every pending event (a handler must drain), then reports once if any concerned our files.
    private func drain() {
        var relevant = false
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n > 0 {
                relevant = relevant || containsRelevantEvent(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                continue
            }
            if n < 0 && errno == EINTR { continue }
            break
        }
        if relevant { onChange() }
    }

    /// Walks `struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }` records.
    private func containsRelevantEvent(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        let header = 16
        while offset + header <= bytes.count {
            let wd = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<min(bytes.count, offset + header + length)])
            offset += header + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { return true }       // events were lost: check anyway
            guard let names = watches[wd] else { continue }
            guard let names else { return true }                        // a watched file itself
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            if names.contains(name) { return true }
        }
        return false
    }

    static func basename(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// The text of a symlink, or nil when `path` is not one.
    static func linkText(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
