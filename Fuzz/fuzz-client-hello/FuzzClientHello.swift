// libFuzzer target: a client's first bytes on a CONNECT tunnel through HelloReassembler (records, limits)
// and ClientHelloParser (the handshake message), as the TLS peek of issue 10 uses them.
//
// Input layout: byte 0 is the append size (0 = everything in one append, else 1...255 bytes per append);
// the rest is what the client sends. The parser also gets that rest directly, and the rest minus its first
// five bytes (where a record header would be), so it is fuzzed without going through the record layer.
// Invariants (a violation traps, which libFuzzer reports as a crash):
// - the reassembler keeps every byte, unchanged, whatever the split;
// - its verdict, reason and hello end do not depend on the split (whole, pieces, one byte at a time);
// - a complete message is type 1 with a matching 3-byte length, within the limits, and equals the fragments
//   an independent walk over the records joins; an undecided reassembler holds at most maxInputLength + 4;
// - a parsed hello has no GREASE in its lists, no duplicate extension, ECH flagged iff present, a non-empty
//   host name and ALPN names of 1...255 bytes; a refusal has a one-line reason.
import AtpgateTLSHello

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let step = Int(input[0])
    let stream = Array(input[1...])

    let whole = reassemble(stream, step: 0)
    for other in [reassemble(stream, step: step), reassemble(stream, step: 1)] {
        check(other.status == whole.status && other.failureReason == whole.failureReason
              && other.helloEnd == whole.helloEnd,
              "split changes the verdict: \(other.status) \(String(describing: other.failureReason)) != \(whole.status)")
    }
    checkVerdict(whole, stream)

    if case .complete(let message) = whole.status { checkParse(message) }
    checkParse(stream)
    checkParse(Array(stream.dropFirst(5)))
    return 0
}

/// Feeds `stream` in appends of `step` bytes (0: one append) through both append variants, alternating.
func reassemble(_ stream: [UInt8], step: Int) -> HelloReassembler {
    var reassembler = HelloReassembler()
    var offset = 0
    var k = 0
    repeat {
        let end = step == 0 ? stream.count : min(stream.count, offset + step)
        if k % 2 == 0 {
            stream[offset..<end].withUnsafeBytes { _ = reassembler.append($0) }
        } else {
            reassembler.append(stream[offset..<end])
        }
        k += 1
        offset = end
    } while offset < stream.count
    check(reassembler.bytes == stream, "kept bytes differ from the input (step \(step))")
    return reassembler
}

func checkVerdict(_ r: HelloReassembler, _ stream: [UInt8]) {
    switch r.status {
    case .needMore:
        check(r.failureReason == nil && r.helloEnd == nil, "undecided with a reason or an end")
        check(stream.count <= HelloReassembler.maxInputLength + 4, "undecided after \(stream.count) bytes")
        if case .complete = referenceJoin(stream) { fail("undecided, but the records hold a whole hello") }
    case .complete(let message):
        check(message.count >= 4 && message[0] == 1, "complete message without a ClientHello header")
        let length = Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3])
        check(message.count == 4 + length, "message of \(message.count) bytes, header says \(length)")
        check(message.count <= HelloReassembler.maxMessageLength, "message of \(message.count) bytes")
        check(r.failureReason == nil, "complete with a reason")
        guard let end = r.helloEnd else { fail("complete without an end") }
        check(end <= HelloReassembler.maxInputLength && end <= stream.count, "hello ends at \(end)")
        check(referenceJoin(stream) == .complete(message), "the records do not join to the message")
    case .notTLS, .tooLarge:
        check(r.helloEnd == nil, "failed with an end")
        guard let reason = r.failureReason else { fail("failed without a reason") }
        checkLine(reason)
        if r.status == .notTLS, case .complete = referenceJoin(stream) {
            fail("notTLS (\(reason)), but the records hold a whole hello")
        }
    }
}

enum Joined: Equatable {
    case complete([UInt8])
    case incomplete
    case broken
}

/// An independent, non-streaming walk: join handshake record fragments from the start until the message
/// its first four bytes announce is whole. Checks only the rules the walk needs, none of the limits.
func referenceJoin(_ b: [UInt8]) -> Joined {
    var message: [UInt8] = []
    var i = 0
    while true {
        if message.count >= 4 {
            let total = 4 + (Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3]))
            if message.count >= total { return message[0] == 1 ? .complete(Array(message[..<total])) : .broken }
        }
        guard b.count - i >= 5 else { return .incomplete }
        guard b[i] == 0x16, b[i + 1] == 3, b[i + 2] <= 4 else { return .broken }
        let length = Int(b[i + 3]) << 8 | Int(b[i + 4])
        guard length >= 1 && length <= 1 << 14 else { return .broken }
        let fragmentEnd = min(b.count, i + 5 + length)
        message += b[(i + 5)..<fragmentEnd]
        if fragmentEnd < i + 5 + length {
            if message.count >= 4 {
                let total = 4 + (Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3]))
                if message.count >= total { return message[0] == 1 ? .complete(Array(message[..<total])) : .broken }
            }
            return .incomplete
        }
        i = fragmentEnd
    }
}

func checkParse(_ message: [UInt8]) {
    let hello: ClientHello
    do throws(ClientHelloError) { hello = try ClientHelloParser.parse(message) } catch {
        checkLine(error.description)
        return
    }
    for list in [hello.cipherSuites, hello.extensions, hello.supportedVersions, hello.signatureAlgorithms] {
        check(!list.contains(where: ClientHello.isGrease), "GREASE left in \(list)")
    }
    check(Set(hello.extensions).count == hello.extensions.count, "duplicate extension in \(hello.extensions)")
    check(hello.hasECH == hello.extensions.contains(0xfe0d), "hasECH \(hello.hasECH) vs \(hello.extensions)")
    check(hello.serverName.map { !$0.isEmpty } ?? true, "empty server name")
    check(hello.serverName == nil || hello.extensions.contains(0), "server name without the extension")
    check(hello.alpn.allSatisfy { (1...255).contains($0.count) }, "ALPN name length out of range")
}

/// Failure reasons go into the access log: one line of printable ASCII.
func checkLine(_ message: String) {
    check(!message.isEmpty && message.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "unprintable reason \(message.debugDescription)")
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    fatalError("fuzz-client-hello invariant: \(message)")
}
