/// Collects a client's first bytes on a CONNECT tunnel until its TLS ClientHello handshake message is
/// whole (issue 10's peek). It decrypts nothing: the ClientHello travels in plaintext handshake records.
///
/// Every byte appended is kept in `bytes`, in order, including record headers and anything after the
/// hello, because the proxy forwards exactly what the client sent once the peek has decided. The status
/// depends only on the bytes received so far, never on how they were split into appends: the reassembler
/// consumes greedily and checks each field the moment its bytes are there.
///
/// Bounds: a hello whose message length exceeds `maxMessageLength`, or whose records (headers included)
/// would run past `maxInputLength` bytes of input, is `.tooLarge`. Until a verdict the reassembler thus holds
/// at most `maxInputLength + 4` bytes (a verdict is reached as soon as a record header would overstep);
/// after one, further appends are still kept (forwarded) but not interpreted, so the caller stops reading.
public struct HelloReassembler: Sendable {
    public enum Status: Sendable, Equatable {
        /// Nothing wrong so far; the hello is not whole yet.
        case needMore
        /// The ClientHello handshake message: type 1, 3-byte length, body, joined across records.
        case complete(handshakeMessage: [UInt8])
        /// Not a TLS client's first flight: see `failureReason`.
        case notTLS
        /// The hello (or the records needed to carry it) exceeds the limits: see `failureReason`.
        case tooLarge
    }

    /// RFC 8446 §5.1 (and RFC 5246 §6.2.1): a plaintext record's fragment is at most 2^14 bytes, and a
    /// handshake record is never empty. OpenSSL and Go both refuse a longer plaintext record (record_overflow);
    /// the 2^14 + 256 of §5.2 applies to encrypted records only, which cannot come before the ClientHello.
    public static let maxRecordLength = 1 << 14
    /// The largest handshake message accepted, header included. Real hellos are under 2 KiB (a few KiB
    /// with post-quantum key shares); 64 KiB leaves room for padding and large PSK identities.
    public static let maxMessageLength = 1 << 16
    /// The most input the hello may take from the start of the stream to its last byte: 64 KiB plus one
    /// record header. Bounds what a client can make the proxy hold before a verdict (tiny records).
    public static let maxInputLength = (1 << 16) + recordHeaderLength

    static let recordHeaderLength = 5
    static let handshakeHeaderLength = 4
    static let handshakeContentType: UInt8 = 0x16
    static let clientHelloType: UInt8 = 1

    /// Everything appended so far, unchanged.
    public private(set) var bytes: [UInt8] = []
    /// The verdict so far; once it is not `.needMore` it never changes.
    public private(set) var status: Status = .needMore
    /// Why the status is `.notTLS` or `.tooLarge`: one line for the access log.
    public private(set) var failureReason: String?
    /// When complete: the offset in `bytes` just past the hello's last byte (what follows is not interpreted).
    public private(set) var helloEnd: Int?

    /// Next byte of `bytes` to look at.
    private var position = 0
    /// Fragment bytes of the current record not consumed yet; 0 while a record header is expected.
    private var recordRemaining = 0
    /// The handshake message collected so far (its bytes, without record headers).
    private var message: [UInt8] = []
    /// Header plus body length, once the handshake header has been read.
    private var messageTotal: Int?

    public init() {}

    /// Appends bytes the client sent and returns the status after them.
    @discardableResult
    public mutating func append(_ chunk: UnsafeRawBufferPointer) -> Status {
        bytes.append(contentsOf: chunk)
        if case .needMore = status { advance() }
        return status
    }

    /// Appends bytes the client sent and returns the status after them.
    @discardableResult
    public mutating func append(_ chunk: some Collection<UInt8>) -> Status {
        bytes.append(contentsOf: chunk)
        if case .needMore = status { advance() }
        return status
    }

    /// Consumes as much of `bytes` as the current state allows.
    private mutating func advance() {
        while case .needMore = status {
            if recordRemaining == 0 {
                guard readRecordHeader() else { return }
            } else {
                guard readFragment() else { return }
            }
        }
    }

    /// Checks the record header bytes present so far (each as soon as it arrives: an HTTP request is refused
    /// on its first byte) and, once all five are there, starts the record. False when more input is needed.
    private mutating func readRecordHeader() -> Bool {
        let available = min(bytes.count - position, Self.recordHeaderLength)
        if available >= 1 && bytes[position] != Self.handshakeContentType {
            let type = bytes[position]
            return fail(.notTLS, position == 0 ? "first byte \(Self.hex(type)) is not a TLS handshake record"
                                              : "record type \(Self.hex(type)) before the ClientHello is complete")
        }
        // legacy_record_version: 0x0303, or 0x0301 (and older) in first flights for compatibility (RFC 8446
        // §5.1). Accept 0x0300...0x0304 as stacks do; anything else is not TLS (an SSLv2 hello starts 0x80).
        // The reason names only the bytes that decided, so it does not depend on how many had arrived.
        if available >= 2 && bytes[position + 1] != 0x03 {
            return fail(.notTLS, "record version \(Self.hex(bytes[position + 1])) is not TLS")
        }
        if available >= 3 && bytes[position + 2] > 0x04 {
            return fail(.notTLS, "record version 0x03 \(Self.hex(bytes[position + 2])) is not TLS")
        }
        guard available == Self.recordHeaderLength else { return false }
        let length = Int(bytes[position + 3]) << 8 | Int(bytes[position + 4])
        guard length > 0 && length <= Self.maxRecordLength else {
            return fail(.notTLS, "handshake record length \(length) is outside 1...\(Self.maxRecordLength)")
        }
        position += Self.recordHeaderLength
        recordRemaining = length
        return checkInputBound()
    }

    /// Moves the fragment bytes present into `message`, but never past the hello's end (the rest of the
    /// record, if any, is forwarded but not interpreted). False when more input is needed.
    private mutating func readFragment() -> Bool {
        let wanted = (messageTotal ?? Self.handshakeHeaderLength) - message.count
        let take = min(recordRemaining, bytes.count - position, wanted)
        guard take > 0 else { return false }
        let hadHeader = message.count >= Self.handshakeHeaderLength
        message.append(contentsOf: bytes[position..<(position + take)])
        position += take
        recordRemaining -= take
        if message[0] != Self.clientHelloType {
            return fail(.notTLS, "handshake message type \(message[0]) is not ClientHello")
        }
        if !hadHeader && message.count == Self.handshakeHeaderLength {
            let total = Self.handshakeHeaderLength + (Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3]))
            guard total <= Self.maxMessageLength else {
                return fail(.tooLarge, "ClientHello of \(total) bytes exceeds \(Self.maxMessageLength)")
            }
            messageTotal = total
            guard checkInputBound() else { return false }
        }
        if let total = messageTotal, message.count == total {
            helloEnd = position
            status = .complete(handshakeMessage: message)
        }
        return true
    }

    /// Refuses as soon as the hello cannot end within `maxInputLength`: the least input it needs is the rest
    /// of this record plus, for message bytes beyond it, full-size records with their headers.
    private mutating func checkInputBound() -> Bool {
        let missing = (messageTotal ?? Self.handshakeHeaderLength) - message.count
        let inThisRecord = min(recordRemaining, missing)
        let beyond = missing - inThisRecord
        let laterRecords = (beyond + Self.maxRecordLength - 1) / Self.maxRecordLength
        let leastEnd = position + inThisRecord + beyond + laterRecords * Self.recordHeaderLength
        guard leastEnd <= Self.maxInputLength else {
            return fail(.tooLarge, "ClientHello needs more than \(Self.maxInputLength) bytes of records")
        }
        return true
    }

    private mutating func fail(_ verdict: Status, _ reason: String) -> Bool {
        status = verdict
        failureReason = reason
        return false
    }

    private static func hex(_ byte: UInt8) -> String {
        (byte < 0x10 ? "0x0" : "0x") + String(byte, radix: 16)
    }
}
