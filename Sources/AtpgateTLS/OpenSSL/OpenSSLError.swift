import COpenSSL

/// A failed OpenSSL call: what was being done and the library's own reasons, drained from its
/// thread-local error queue (so the next call on this thread starts clean). The messages name no key
/// material: OpenSSL's reason strings are about formats and states, never contents.
public struct OpenSSLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What atpgate was doing ("loading the CA key", "the upstream handshake").
    public let operation: String
    /// OpenSSL's reasons, oldest first, e.g. "error:0480006C:PEM routines::no start line".
    public let reasons: [String]

    public init(_ operation: String, reasons: [String]) {
        self.operation = operation
        self.reasons = reasons
    }

    /// The error for `operation` with whatever OpenSSL queued; the queue is left empty.
    public static func drain(_ operation: String) -> OpenSSLError {
        OpenSSLError(operation, reasons: OpenSSL.drainErrorQueue())
    }

    public var description: String {
        reasons.isEmpty ? operation : "\(operation): \(reasons.joined(separator: "; "))"
    }
}

public enum OpenSSL {
    /// Empties this thread's error queue, returning its entries as text (oldest first). Called before
    /// each `SSL_*` I/O call so that `SSL_get_error` reads only that call's errors.
    @discardableResult
    public static func drainErrorQueue() -> [String] {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons
    }
}
