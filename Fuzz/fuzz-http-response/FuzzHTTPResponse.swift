// libFuzzer target: an upstream's whole answer to one forwarded request — interim floods, framing
// conflicts, bodies — through the code the proxy uses: UpstreamResponseReader (interim loop and bound,
// final head), ResponsePlan (the head and framing the client is told) and ChunkedFramer (the body relay).
//
// Input layout: byte 0 picks the request method (bits 0-1: GET, HEAD, POST, CONNECT), the client's version
// (bit 2: HTTP/1.0), whether the client asked to keep the connection (bit 3), and a read size (bits 4-7:
// 0 = everything at once, else 1...15 bytes per read). The rest is what the upstream sends.
// Invariants (a violation traps, which libFuzzer reports as a crash):
// - never more than `maxInterim` interim events; none is forwarded to an HTTP/1.0 client; each forwarded one
//   is a single well-formed 1xx head with no framing fields;
// - the outcome (events, plan, failure) does not depend on how the bytes were split into reads;
// - the final head the client gets parses as exactly one head, with our Via entry, and a client reading it
//   frames the body exactly as the relay sends it: Content-Length n <-> length(n), chunked <-> chunked,
//   close-delimited (with Connection: close) <-> dechunk / untilClose, no body <-> none;
// - the relay of the body bytes that followed the head never reports more than it was given.
import AtpgateHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let control = input[0]
    let method = ["GET", "HEAD", "POST", "CONNECT"][Int(control & 3)]
    let client: HTTPVersion = control & 4 != 0 ? .http1_0 : .http1_1
    let keepAlive = control & 8 != 0
    let step = Int(control >> 4)
    let bytes = Array(input[1...])

    let whole = read(bytes, step: 0, method: method, client: client, keepAlive: keepAlive)
    if step > 0 {
        let split = read(bytes, step: step, method: method, client: client, keepAlive: keepAlive)
        check(split.outcome == whole.outcome, "reads of \(step) bytes: \(split.outcome) != whole \(whole.outcome)")
        check(split.interim == whole.interim, "interim events differ with reads of \(step) bytes")
    }
    check(whole.interim.count <= UpstreamResponseReader.defaultMaxInterim, "\(whole.interim.count) interim events")
    for forward in whole.interim {
        guard let head = forward else { check(client == .http1_0, "an interim head withheld from an HTTP/1.1 client"); continue }
        check(client == .http1_1, "an interim head forwarded to an HTTP/1.0 client")
        let parsed = parseOneHead(head, "interim head")
        check((100...199).contains(parsed.status) && parsed.status != 101, "interim status \(parsed.status)")
        check(!parsed.headers.contains { $0.hasName("content-length") || $0.hasName("transfer-encoding") },
              "interim head with framing fields: \(show(head))")
    }
    if case .final(let plan, let body) = whole.outcome {
        checkPlan(plan, method: method, client: client, keepAlive: keepAlive)
        relay(body, plan.relay)
    }
    return 0
}

enum Outcome: Equatable, CustomStringConvertible {
    case incomplete
    case final(ResponsePlan, body: [UInt8])
    case failed(UpstreamResponseReader.Failure)

    var description: String {
        switch self {
        case .incomplete: return "incomplete"
        case .final(let plan, let body): return "final \(plan.status) \(plan.relay) + \(body.count) body bytes"
        case .failed(let failure): return "failed: \(failure.message)"
        }
    }
}

/// Feeds `bytes` in reads of `step` bytes (0: all at once) and collects interim heads and the outcome.
/// Body bytes that arrive after the final head (in later reads) are appended to the body, as the pump would read them.
func read(_ bytes: [UInt8], step: Int, method: String, client: HTTPVersion, keepAlive: Bool)
    -> (interim: [[UInt8]?], outcome: Outcome) {
    var reader = UpstreamResponseReader(requestMethod: method, clientVersion: client, clientKeepAlive: keepAlive,
                                        headLimit: 4096)
    var interim: [[UInt8]?] = []
    var offset = 0
    repeat {
        let end = step == 0 ? bytes.count : min(bytes.count, offset + step)
        bytes[offset..<end].withUnsafeBytes { reader.append($0) }
        offset = end
        while true {
            let event: UpstreamResponseReader.Event
            do throws(UpstreamResponseReader.Failure) { event = try reader.next() } catch {
                checkLine(error.message)
                return (interim, .failed(error))
            }
            switch event {
            case .needMore:
                break
            case .interim(let status, let forward):
                check((100...199).contains(status), "interim event with status \(status)")
                interim.append(forward)
                continue
            case .final(let plan, let body):
                return (interim, .final(plan, body: body + bytes[offset...]))
            }
            break
        }
    } while offset < bytes.count
    return (interim, .incomplete)
}

/// What a client reads from the head must be what the relay does.
func checkPlan(_ plan: ResponsePlan, method: String, client: HTTPVersion, keepAlive: Bool) {
    let head = parseOneHead(plan.head, "final head")
    check(head.status == plan.status && !(100...199).contains(plan.status), "final status \(plan.status)")
    check(head.values("via").last?.hasSuffix("1.1 atpgate") == true, "no Via entry: \(show(plan.head))")
    let seen: BodyFraming
    do throws(HTTPHeadError) { seen = try head.bodyFraming(requestMethod: method) } catch {
        fail("the client cannot frame the head it is sent (\(error)): \(show(plan.head))")
    }
    switch plan.relay {
    case .none: check(seen == .none, "relay none, client reads \(seen)")
    case .length(let n): check(seen == .contentLength(n), "relay length \(n), client reads \(seen)")
    case .chunked:
        check(seen == .chunked && client == .http1_1, "relay chunked to \(client), client reads \(seen)")
    case .dechunk, .untilClose:
        check(seen == .untilClose, "relay \(plan.relay), client reads \(seen)")
        check(plan.closeAfter, "close-delimited body without closing")
    }
    check(head.values("content-length").count <= 1, "several Content-Length fields: \(show(plan.head))")
    check(head.keepAlive == !plan.closeAfter,
          "Connection says keep-alive=\(head.keepAlive), plan closes=\(plan.closeAfter): \(show(plan.head))")
    if !keepAlive { check(plan.closeAfter, "the client asked to close") }
}

/// Runs the body bytes through the framing the relay uses; it may end early or fail, never over-count.
func relay(_ body: [UInt8], _ relay: ResponseRelay) {
    switch relay {
    case .none, .length, .untilClose:
        return
    case .chunked, .dechunk:
        var framer = ChunkedFramer()
        var data = 0
        let result: Result<Int, HTTPHeadError> = body.withUnsafeBytes { raw in
            do throws(HTTPHeadError) { return .success(try framer.consume(raw) { data += $0.count }) } catch {
                return .failure(error)
            }
        }
        guard case .success(let consumed) = result else { return }
        check(consumed <= body.count && data <= consumed, "framer consumed \(consumed) of \(body.count), data \(data)")
    }
}

/// `bytes` must be exactly one complete, valid head.
func parseOneHead(_ bytes: [UInt8], _ what: String) -> HTTPResponseHead {
    var scanner = HeadScanner(limit: max(bytes.count, 4))
    let end: Int?
    do throws(HTTPHeadError) { end = try scanner.scan(bytes) } catch { fail("\(what) is not a head (\(error)): \(show(bytes))") }
    check(end == bytes.count, "\(what) ends at \(String(describing: end)) of \(bytes.count): \(show(bytes))")
    do throws(HTTPHeadError) { return try HTTPResponseHead.parse(bytes) } catch {
        fail("\(what) does not parse (\(error)): \(show(bytes))")
    }
}

/// Failure messages go into a 502 body and the log: one line of printable ASCII.
func checkLine(_ message: String) {
    check(!message.isEmpty && message.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "unprintable message \(message.debugDescription)")
}

func show(_ bytes: [UInt8]) -> String { String(decoding: bytes.prefix(400), as: UTF8.self).debugDescription }

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    fatalError("fuzz-http-response invariant: \(message)")
}
