// libFuzzer target: the request/response head path of the proxy, on hostile bytes.
//
// The input is the bytes a peer sent. HeadScanner delimits a head (fed whole and in two pieces, which must
// agree); the head is parsed as a request and as a response; a request's target is classified, its body
// framing derived and its head rewritten for upstream; a response's framing is derived and its head rewritten
// for the client. Whatever the scanner says, the whole input is also given to both parsers (they take any
// bytes). Invariants (a violation traps, which libFuzzer reports as a crash):
// - the scanner's head length is in 4...min(count, limit), ends in CRLFCRLF, and does not depend on the split;
// - a rewritten head is one complete head that our own parsers accept, with Connection: close, one Host and
//   our Via entry last, and (requests) the same body framing as the original: a proxy that frames a message
//   differently from what it forwards enables request smuggling;
// - a rewritten response keeps the status and parses as a response.
import AtpgateHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let limit = 16384

    var whole = HeadScanner(limit: limit)
    let headLength = scanResult(&whole, bytes)
    // Incremental: the caller re-feeds the growing buffer; the answer must be the one for the whole buffer.
    if size > 1 {
        var pieces = HeadScanner(limit: limit)
        let first = scanResult(&pieces, UnsafeRawBufferPointer(rebasing: bytes[0..<(size / 2)]))
        // A head found or an error raised on the prefix is final: the whole buffer must give the same answer.
        let second = first == .more ? scanResult(&pieces, bytes) : first
        check(second == headLength, "split scan \(second) != whole scan \(headLength)")
    }

    var headBytes = bytes
    if case .head(let n) = headLength {
        check(n >= 4 && n <= size && n <= limit, "head length \(n) out of range")
        check(bytes[n - 4] == 0x0D && bytes[n - 3] == 0x0A && bytes[n - 2] == 0x0D && bytes[n - 1] == 0x0A,
              "head does not end in CRLFCRLF")
        headBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<n])
    }

    exerciseRequest(headBytes)
    exerciseResponse(headBytes)
    if headBytes.count != size {
        // The parsers must also cope with a head that is not what the scanner would hand them.
        _ = try? HTTPRequestHead.parse(bytes)
        _ = try? HTTPResponseHead.parse(bytes)
    }
    return 0
}

enum ScanOutcome: Equatable {
    case head(Int), more, failed
}

func scanResult(_ scanner: inout HeadScanner, _ bytes: UnsafeRawBufferPointer) -> ScanOutcome {
    do throws(HTTPHeadError) {
        if let n = try scanner.scan(bytes) { return .head(n) }
        return .more
    } catch {
        return .failed
    }
}

func exerciseRequest(_ head: UnsafeRawBufferPointer) {
    let request: HTTPRequestHead
    do throws(HTTPHeadError) { request = try HTTPRequestHead.parse(head) } catch { checkReason(error); return }
    _ = request.keepAlive
    _ = request.values("host")

    let framing: BodyFraming?
    do throws(HTTPHeadError) { framing = try request.bodyFraming() } catch { checkReason(error); framing = nil }

    // What the engine hands the rewriter: the URL's host, explicit port and origin-form path.
    let host: String, port: UInt16?, path: String
    do throws(HTTPHeadError) {
        switch try RequestTarget.parse(method: request.method, target: request.target) {
        case .absolute(let scheme, let h, let p, let pa):
            check(!scheme.isEmpty && scheme == scheme.lowercased(), "scheme not lower-cased: \(scheme)")
            check(pa.utf8.first == 0x2F, "absolute-form path does not start with '/': \(pa)")
            host = h; port = p; path = pa
        case .authority(let h, let p):
            check(request.method == "CONNECT" && p != 0, "authority-form for \(request.method) or port 0")
            host = h; port = p; path = "/"
        case .origin(let pa):
            host = "example.com"; port = nil; path = pa
        case .asterisk:
            check(request.method == "OPTIONS", "asterisk-form for \(request.method)")
            host = "example.com"; port = nil; path = "/"
        }
    } catch {
        checkReason(error)
        return
    }

    let out = HeadRewriter.upstreamRequest(request, host: host, port: port, path: path)
    let forwarded: HTTPRequestHead
    do throws(HTTPHeadError) {
        forwarded = try HTTPRequestHead.parse(completeHead(out, "upstream request"))
    } catch {
        fail("rewritten request does not parse (\(error)): \(show(out))")
    }
    check(forwarded.method == request.method, "method changed")
    check(forwarded.version == .http1_1, "upstream version is not HTTP/1.1")
    check(forwarded.values("host").count == 1, "rewritten request has \(forwarded.values("host").count) Host fields")
    checkHopByHop(forwarded.headers, close: true, "upstream request")
    if let framing {
        let again: BodyFraming
        do throws(HTTPHeadError) { again = try forwarded.bodyFraming() } catch {
            fail("rewritten request framing fails (\(error)), original \(framing): \(show(out))")
        }
        check(again == framing, "request framing \(framing) became \(again): \(show(out))")
    }
}

func exerciseResponse(_ head: UnsafeRawBufferPointer) {
    let response: HTTPResponseHead
    do throws(HTTPHeadError) { response = try HTTPResponseHead.parse(head) } catch { checkReason(error); return }
    check((100...599).contains(response.status), "status \(response.status)")
    _ = response.keepAlive
    for method in ["GET", "HEAD", "CONNECT", "POST"] {
        do throws(HTTPHeadError) { _ = try response.bodyFraming(requestMethod: method) } catch { checkReason(error) }
    }
    for (close, client) in [(true, HTTPVersion.http1_1), (false, .http1_1), (false, .http1_0)] {
        let out = HeadRewriter.clientResponse(response, close: close, clientVersion: client)
        let back: HTTPResponseHead
        do throws(HTTPHeadError) {
            back = try HTTPResponseHead.parse(completeHead(out, "client response"))
        } catch {
            fail("rewritten response does not parse (\(error)): \(show(out))")
        }
        check(back.status == response.status, "status changed \(response.status) -> \(back.status)")
        check(back.version == .http1_1, "client response version is not HTTP/1.1")
        checkHopByHop(back.headers, close: close, "client response")
    }
}

/// The rewriter's output must be exactly one head: the scanner finds its end at the very last byte.
func completeHead(_ out: [UInt8], _ what: String) -> [UInt8] {
    var scanner = HeadScanner(limit: max(out.count, 4))
    let found: Int?
    do throws(HTTPHeadError) { found = try scanner.scan(out) } catch {
        fail("\(what) is not a head (\(error)): \(show(out))")
    }
    check(found == out.count, "\(what) head ends at \(String(describing: found)) of \(out.count): \(show(out))")
    return out
}

/// After rewriting: no hop-by-hop fields but our own Connection, and our Via entry last.
func checkHopByHop(_ headers: [HTTPHeader], close: Bool, _ what: String) {
    for name in ["proxy-connection", "keep-alive", "proxy-authorization", "te", "trailer", "upgrade"] {
        check(!headers.contains { $0.hasName(name) }, "\(what) still has \(name)")
    }
    let connection = headers.filter { $0.hasName("connection") }.map(\.value)
    if close { check(connection == ["close"], "\(what) Connection is \(connection)") }
    let via = headers.filter { $0.hasName("via") }
    check(via.last?.value.hasSuffix("1.1 atpgate") == true, "\(what) last Via does not end with our entry")
}

/// Reasons are echoed in responses and logs: one line of printable ASCII.
func checkReason(_ error: HTTPHeadError) {
    if case .malformed(let reason) = error {
        check(!reason.isEmpty && reason.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "unprintable reason \(reason.debugDescription)")
    }
}

func show(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self).debugDescription }

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    fatalError("fuzz-http-head invariant: \(message)")
}
