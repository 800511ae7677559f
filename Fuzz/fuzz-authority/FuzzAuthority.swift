// libFuzzer target: CONNECT authorities and host normalisation.
//
// The input, as text, is a CONNECT request-target: RequestTarget.parse(method: "CONNECT", ...) and, when that
// accepts it, Host.normalize on its host. The raw text also goes to Host.normalize directly (the host of an
// absolute URL reaches it the same way, and normalize must cope with anything, non-ASCII included).
// Invariants (a violation traps, which libFuzzer reports as a crash):
// - an accepted authority has a non-empty host and a port in 1...65535, and "host:port" parses back to itself;
// - a normalised host re-normalises to itself, from its own text (`description`) too: one spelling per
//   destination, or the policy could be walked around with a second spelling;
// - only ASCII text is accepted ("use punycode"), and a normalised name is lower-case ASCII without a
//   trailing dot, at most 253 octets;
// - refusal reasons are one short printable line.
import AtpgateHTTP
import AtpgateNet

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)

    do throws(HTTPHeadError) {
        guard case .authority(let host, let port) = try RequestTarget.parse(method: "CONNECT", target: text) else {
            fail("CONNECT target \(text.debugDescription) parsed as another form")
        }
        check(!host.isEmpty && port != 0, "authority \(host.debugDescription):\(port)")
        do throws(HTTPHeadError) {
            let again = try RequestTarget.parse(method: "CONNECT", target: "\(host):\(port)")
            check(again == .authority(host: host, port: port), "\(host):\(port) re-parses as \(again)")
        } catch {
            fail("\(host):\(port) from \(text.debugDescription) does not re-parse: \(error)")
        }
        normalizeTwice(host)
    } catch {
        if case .malformed(let reason) = error { checkReason(reason) }
    }

    normalizeTwice(text)
    return 0
}

/// normalize(x) = h implies normalize(h.description) = h and, for names, normalize(name) = h.
func normalizeTwice(_ raw: String) {
    let host: Host
    do throws(HostError) { host = try Host.normalize(raw) } catch {
        checkReason(error.reason)
        return
    }
    check(raw.utf8.allSatisfy { $0 < 0x80 }, "non-ASCII \(raw.debugDescription) accepted as \(host)")
    let text = host.description
    do throws(HostError) {
        let again = try Host.normalize(text)
        check(again == host, "\(raw.debugDescription) -> \(host) -> \(again)")
        check(again.description == text, "description \(text.debugDescription) -> \(again.description.debugDescription)")
    } catch {
        fail("\(raw.debugDescription) normalises to \(text.debugDescription), which is refused: \(error.reason)")
    }
    if case .name(let name) = host {
        check(!name.isEmpty && name.utf8.count <= 253 && !name.hasSuffix("."), "bad name \(name.debugDescription)")
        check(name.utf8.allSatisfy { $0 < 0x80 && !($0 >= 0x41 && $0 <= 0x5A) }, "name not lower-case ASCII \(name.debugDescription)")
    }
}

func checkReason(_ reason: String) {
    check(!reason.isEmpty && reason.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F },
          "unprintable reason \(reason.debugDescription)")
    check(reason.utf8.count <= 2048, "unbounded reason of \(reason.utf8.count) bytes")   // quoted text is capped
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    fatalError("fuzz-authority invariant: \(message)")
}
