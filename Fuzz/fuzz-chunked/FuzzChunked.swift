// libFuzzer target: ChunkedFramer on hostile chunked bodies, in arbitrary splits.
//
// Input layout: byte 0 is a control byte; its low 4 bits are a count n of split lengths that follow (bytes
// 1...n, each 0-255; 0 makes an empty read), bit 4 selects small line/trailer limits (sized by bits 5-7) so the
// limit paths are reachable. The rest is the body. The body is fed
//   A. whole, without onData;  B. whole, with onData;  C. one byte at a time, with onData;
//   D. in the pieces given by the split lengths (cycled), with onData;  E. whole again after reset().
// Invariants (a violation traps, which libFuzzer reports as a crash):
// - every consume returns 0...count, and less than count only once complete; once complete it stays complete
//   and consumes nothing more; once failed every further call throws "chunked body already failed";
// - onData never hands over more than was consumed, nor an empty run;
// - the outcome (complete after the same number of bytes / incomplete / failed with the same reason) and the
//   de-chunked data do not depend on the split, on onData or on reset();
// - a complete body's length and data agree with a simple independent decoder.
import AtpgateHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard size >= 1 else { return 0 }
    let control = input[0]
    let n = min(Int(control & 0x0F), size - 1)
    let splits = Array(input[1..<(1 + n)])
    let body = Array(input[(1 + n)...])
    let makeFramer = { () -> ChunkedFramer in
        if control & 0x10 == 0 { return ChunkedFramer() }
        let k = Int(control >> 5)
        return ChunkedFramer(maxLineLength: 1 + 3 * k, maxTrailerBytes: 2 + 8 * k)
    }

    var framer = makeFramer()
    let a = run(&framer, body, pieces: [body.count], collect: false)
    framer.reset()
    let e = run(&framer, body, pieces: [body.count], collect: false)
    var fb = makeFramer()
    let b = run(&fb, body, pieces: [body.count], collect: true)
    var fc = makeFramer()
    let c = run(&fc, body, pieces: [1], collect: true)
    var fd = makeFramer()
    let d = run(&fd, body, pieces: splits.isEmpty ? [body.count] : splits.map(Int.init), collect: true)

    for (name, other) in [("reset", e), ("onData", b), ("byte-wise", c), ("split \(splits)", d)] {
        check(other.end == a.end, "\(name): \(other.end) != whole \(a.end)")
    }
    for (name, other) in [("byte-wise", c), ("split \(splits)", d)] {
        check(other.data == b.data, "\(name): data \(other.data.count) bytes != whole \(b.data.count) bytes")
    }
    if case .complete(let length) = a.end {
        let (refLength, refData) = referenceDecode(body)
        check(refLength == length, "complete after \(length) bytes, reference decoder says \(String(describing: refLength))")
        check(refData == b.data, "data differs from the reference decoder")
    }
    return 0
}

enum End: Equatable, CustomStringConvertible {
    case complete(Int)   // bytes of the message
    case incomplete      // every byte consumed, more needed
    case failed(String)

    var description: String {
        switch self {
        case .complete(let n): return "complete(\(n))"
        case .incomplete: return "incomplete"
        case .failed(let r): return "failed(\(r))"
        }
    }
}

struct Outcome {
    var end: End
    var data: [UInt8]
}

/// Feeds `body` in pieces of the given lengths (cycled; at most what is left), then checks that the final state
/// is stable: a complete framer takes nothing of the rest, a failed one refuses everything.
func run(_ framer: inout ChunkedFramer, _ body: [UInt8], pieces: [Int], collect: Bool) -> Outcome {
    var data: [UInt8] = []
    var end = End.incomplete
    body.withUnsafeBytes { all in
        var offset = 0
        var k = 0
        var emptyReads = 0
        func feed(_ piece: UnsafeRawBufferPointer) throws(HTTPHeadError) -> Int {
            var delivered = 0
            let run: Int
            if collect {
                run = try framer.consume(piece) { chunk in
                    check(chunk.count > 0, "onData with an empty run")
                    delivered += chunk.count
                    data.append(contentsOf: chunk)
                }
            } else {
                run = try framer.consume(piece)
            }
            check(run >= 0 && run <= piece.count, "consumed \(run) of \(piece.count)")
            check(delivered <= run, "onData delivered \(delivered) bytes but \(run) were consumed")
            if run < piece.count { check(framer.isComplete, "stopped after \(run) of \(piece.count) bytes, not complete") }
            return run
        }
        while offset < all.count {
            var length = min(pieces[k % pieces.count], all.count - offset)
            k += 1
            if length == 0 {
                emptyReads += 1
                if emptyReads > 64 { length = all.count - offset }   // the split list may be all zeros
            }
            let run: Int
            do throws(HTTPHeadError) {
                run = try feed(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)]))
            } catch {
                check(!error.description.isEmpty, "empty failure reason")
                end = .failed(error.description)
                break
            }
            if framer.isComplete {
                end = .complete(offset + run)
                offset += run
                break
            }
            check(run == length, "incomplete framer consumed \(run) of \(length)")
            offset += length
        }
        switch end {
        case .complete:
            // Completion is stable: the rest (possibly nothing) is not taken.
            do throws(HTTPHeadError) {
                let more = try feed(UnsafeRawBufferPointer(rebasing: all[offset...]))
                check(more == 0 && framer.isComplete, "a complete framer consumed \(more) more or reopened")
            } catch {
                fail("a complete framer threw \(error)")
            }
        case .failed:
            do throws(HTTPHeadError) {
                _ = try framer.consume(UnsafeRawBufferPointer(rebasing: all[0..<0]))
                fail("a failed framer accepted more input")
            } catch {
                check(error == .malformed("chunked body already failed"), "a failed framer threw \(error)")
            }
        case .incomplete:
            check(!framer.isComplete, "complete but reported incomplete")
        }
    }
    return Outcome(end: end, data: data)
}

/// An independent, non-streaming decoder for bodies the framer accepted: where the message ends and its data.
/// Lenient about what the framer already validated (extension and trailer characters); nil when confused.
func referenceDecode(_ b: [UInt8]) -> (Int?, [UInt8]) {
    var i = 0
    var data: [UInt8] = []
    func lineEnd(from start: Int) -> Int? {   // index of the CR of the next CRLF
        var j = start
        while j + 1 < b.count {
            if b[j] == 0x0D && b[j + 1] == 0x0A { return j }
            j += 1
        }
        return nil
    }
    while true {
        guard let cr = lineEnd(from: i) else { return (nil, data) }
        var size: UInt64 = 0
        var j = i
        while j < cr, let v = hex(b[j]) {
            if size > UInt64.max >> 4 { return (nil, data) }
            size = size << 4 | v
            j += 1
        }
        if j == i { return (nil, data) }
        i = cr + 2
        if size == 0 { break }
        guard UInt64(b.count - i) >= size, UInt64(b.count - i) - size >= 2 else { return (nil, data) }
        data += b[i..<(i + Int(size))]
        i += Int(size)
        guard b[i] == 0x0D && b[i + 1] == 0x0A else { return (nil, data) }
        i += 2
    }
    // Trailer section: field lines up to an empty line.
    while true {
        guard let cr = lineEnd(from: i) else { return (nil, data) }
        let empty = cr == i
        i = cr + 2
        if empty { return (i, data) }
    }
}

func hex(_ c: UInt8) -> UInt64? {
    switch c {
    case 0x30...0x39: return UInt64(c - 0x30)
    case 0x41...0x46: return UInt64(c - 0x41 + 10)
    case 0x61...0x66: return UInt64(c - 0x61 + 10)
    default: return nil
    }
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    fatalError("fuzz-chunked invariant: \(message)")
}
