/// A bounds-checked cursor over one length-delimited block of a ClientHello. Every read checks what is
/// left of the block, never of the whole array, so a length field can never reach into the next
/// structure; `lengthPrefixed` hands back the inner block as its own reader and skips it here.
struct ClientHelloReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    private let end: Int

    init(_ bytes: [UInt8]) {
        self.init(bytes, from: 0, to: bytes.count)
    }

    private init(_ bytes: [UInt8], from start: Int, to end: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position == end }

    mutating func uint8(_ field: String) throws(ClientHelloError) -> UInt8 {
        try need(1, field)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func uint16(_ field: String) throws(ClientHelloError) -> UInt16 {
        try need(2, field)
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func uint24(_ field: String) throws(ClientHelloError) -> Int {
        try need(3, field)
        defer { position += 3 }
        return Int(bytes[position]) << 16 | Int(bytes[position + 1]) << 8 | Int(bytes[position + 2])
    }

    mutating func skip(_ count: Int, _ field: String) throws(ClientHelloError) {
        try need(count, field)
        position += count
    }

    /// The rest of this block as bytes (it is then at its end).
    mutating func rest() -> [UInt8] {
        defer { position = end }
        return Array(bytes[position..<end])
    }

    mutating func skipRest() {
        position = end
    }

    /// A block preceded by its 1- or 2-byte length, whose length must lie in `allowed`.
    mutating func lengthPrefixed(_ lengthBytes: Int, allowed: ClosedRange<Int>, _ field: String)
        throws(ClientHelloError) -> ClientHelloReader {
        let length = lengthBytes == 1 ? Int(try uint8(field)) : Int(try uint16(field))
        try need(length, field)
        guard allowed.contains(length) else { throw .invalidLength(field) }
        defer { position += length }
        return ClientHelloReader(bytes, from: position, to: position + length)
    }

    /// The block must have been read exactly.
    func expectEnd(_ field: String) throws(ClientHelloError) {
        guard isAtEnd else { throw .trailingBytes(field) }
    }

    private func need(_ count: Int, _ field: String) throws(ClientHelloError) {
        guard count >= 0 && count <= remaining else { throw .truncated(field) }
    }
}
