/// A byte stream on one loop, as the relay and the HTTP exchange use it: the seam a TLS stream will
/// implement beside the plain socket (`SocketChannel`). A stream owns both interests of its transport
/// (readable, writable), so a TLS stream whose write needs the socket readable, or whose buffered bytes
/// must be read without a kernel event, can arrange that inside; its users only see bytes.
///
/// Contract (every implementation keeps it; its users rely on it):
/// - `read` returns bytes, 0 at the end of the stream, or nil when it would block; after nil the read
///   handler runs again once more bytes can be read. A reader that stops before nil (or pauses) is
///   called again when it resumes, without a new event;
/// - `write` takes what it can now (nil: nothing, it would block); after a short write the caller waits
///   with `awaitWritable`, whose handler runs once more can be written;
/// - bytes handed to `unread` (read earlier, e.g. pipelined behind a request head) come back first.
/// Confined to the loop's queue.
public protocol ByteStream: AnyObject {
    var isClosed: Bool { get }

    func setReadHandler(_ handler: @escaping () -> Void)
    func pauseReading()
    func resumeReading()
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int?
    /// Hands back bytes read before: the next reads return them first.
    func unread(_ bytes: [UInt8])

    func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int?
    func awaitWritable(_ handler: @escaping () -> Void)
    func stopAwaitingWritable()
    /// Writes all of `bytes` (the proxy's own short messages), then runs `completion` with nil or the error.
    func send(_ bytes: [UInt8], then completion: @escaping (SocketError?) -> Void)

    /// No more bytes will be written (a half-close).
    func shutdownWrite()
    /// Close with a reset instead of an orderly end (a reset on the other side propagates).
    func resetOnClose()
    func close()

    /// The descriptor bytes may be spliced from or to, when they pass unchanged through the kernel (a
    /// plain socket with nothing handed back pending); nil when they must be read (TLS).
    var spliceDescriptor: Int32? { get }
    /// For reads made around `read` (splice): the count moved, nil when it would have blocked.
    func noteRead(_ count: Int?)
}
