import AtpgateTLSHello

/// The access log's `tls` object: what a peeked tunnel's ClientHello offered, logged on refusals too, so
/// the log shows which name was asked for. Field names are a contract with operators' tooling.
///   "tls":{"sni":"contoso-corpsensorapi.atp.azure.com","alpn":["http/1.1"],"versions":["1.3","1.2"],
///          "ja4":"t13d1812h1_…_…","ech":false}
public struct TLSFacts: Sendable, Equatable {
    /// The server_name host_name as sent (bytes outside printable ASCII are escaped in the JSON); nil: none.
    public var sni: String?
    public var alpn: [String]
    /// Offered versions, highest first ("1.3", "1.2", …).
    public var versions: [String]
    public var ja4: String
    public var ech: Bool

    public init(sni: String?, alpn: [String], versions: [String], ja4: String, ech: Bool) {
        self.sni = sni
        self.alpn = alpn
        self.versions = versions
        self.ja4 = ja4
        self.ech = ech
    }

    init(_ hello: ClientHello) {
        sni = hello.serverName.map { String(decoding: $0, as: UTF8.self) }
        alpn = hello.alpn.map { String(decoding: $0, as: UTF8.self) }
        versions = hello.offeredVersions
        ja4 = JA4.fingerprint(hello)
        ech = hello.hasECH
    }

    func appendJSON(to out: inout [UInt8]) {
        out.append(contentsOf: "{\"sni\":".utf8)
        AccessRecord.appendQuotedOrNull(sni, to: &out)
        out.append(contentsOf: ",\"alpn\":".utf8)
        Self.appendList(alpn, to: &out)
        out.append(contentsOf: ",\"versions\":".utf8)
        Self.appendList(versions, to: &out)
        out.append(contentsOf: ",\"ja4\":".utf8)
        AccessRecord.appendQuoted(ja4, to: &out)
        out.append(contentsOf: ",\"ech\":".utf8)
        out.append(contentsOf: (ech ? "true" : "false").utf8)
        out.append(UInt8(ascii: "}"))
    }

    private static func appendList(_ items: [String], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            AccessRecord.appendQuoted(item, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}
