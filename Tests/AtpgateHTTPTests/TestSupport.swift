@testable import AtpgateHTTP

/// "a\r\nb" style literals as bytes.
func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Runs `body`; returns the malformed reason it threw, "tooLarge", or nil when it did not throw.
func failure<T>(_ body: () throws(HTTPHeadError) -> T) -> String? {
    do throws(HTTPHeadError) {
        _ = try body()
        return nil
    } catch {
        switch error {
        case .tooLarge: return "tooLarge"
        case .malformed(let reason): return reason
        }
    }
}

func parseRequest(_ s: String) throws(HTTPHeadError) -> HTTPRequestHead { try HTTPRequestHead.parse(b(s)) }
func parseResponse(_ s: String) throws(HTTPHeadError) -> HTTPResponseHead { try HTTPResponseHead.parse(b(s)) }

/// True when `s` holds only printable ASCII (what error reasons must be).
func isPrintableASCII(_ s: String) -> Bool { s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }

extension HTTPRequestHead {
    static func make(_ method: String = "GET", _ target: String = "/", _ headers: [(String, String)],
                     version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(method: method, target: target, version: version,
                        headers: headers.map { HTTPHeader(name: $0.0, value: $0.1) })
    }
}

extension HTTPResponseHead {
    static func make(_ status: Int, _ headers: [(String, String)], version: HTTPVersion = .http1_1) -> HTTPResponseHead {
        HTTPResponseHead(version: version, status: status, reason: "R",
                         headers: headers.map { HTTPHeader(name: $0.0, value: $0.1) })
    }
}
