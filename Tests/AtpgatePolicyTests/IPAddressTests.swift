import AtpgateNet
import Testing

/// Parsing must be strict (lenient forms smuggle internal addresses) and formatting
/// canonical (logs and summaries compare as text).
struct IPAddressTests {
    @Test(arguments: [
        ("127.0.0.1", IPAddress.v4(0x7F00_0001)),
        ("0.0.0.0", .v4(0)),
        ("255.255.255.255", .v4(0xFFFF_FFFF)),
        ("10.0.0.1", .v4(0x0A00_0001)),
        ("::", .v6(0, 0)),
        ("::1", .v6(0, 1)),
        ("2001:db8::1", .v6(0x2001_0DB8_0000_0000, 1)),
        ("2001:DB8:0:0:0:0:0:1", .v6(0x2001_0DB8_0000_0000, 1)),
        ("::ffff:1.2.3.4", .v6(0, 0xFFFF_0102_0304)),
        ("1:2:3:4:5:6:7:8", .v6(0x0001_0002_0003_0004, 0x0005_0006_0007_0008)),
        ("1::", .v6(0x0001_0000_0000_0000, 0)),
        ("1:2:3:4:5:6:7::", .v6(0x0001_0002_0003_0004, 0x0005_0006_0007_0000)),
        ("::2:3:4:5:6:7:8", .v6(0x0000_0002_0003_0004, 0x0005_0006_0007_0008)),
        ("1:2:3:4:5:6:1.2.3.4", .v6(0x0001_0002_0003_0004, 0x0005_0006_0102_0304)),
        ("fe80::0001", .v6(0xFE80_0000_0000_0000, 1)),
    ])
    func parsesValid(text: String, expected: IPAddress) {
        #expect(IPAddress(text) == expected)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.256", "1..2.3", "1.2.3.4.",
        "0x7f.0.0.1", "127.1", "2130706433", " 1.2.3.4", "1.2.3.4 ", "+1.2.3.4", "-1.2.3.4",
        ":", ":::", "1::2::3", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
        "12345::", "g::1", "[::1]", "fe80::1%eth0", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5",
        "1:2:3:4:5:6:7:1.2.3.4", "::ffff:01.2.3.4", "1::2:3:4:5:6:7:8",
    ])
    func rejectsInvalid(text: String) {
        #expect(IPAddress(text) == nil)
    }

    /// RFC 5952: lower case, no leading zeros, longest run (>= 2) compressed, first on tie.
    @Test(arguments: [
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("2001:DB8::AbCd", "2001:db8::abcd"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::ffff:0102:0304", "::ffff:1.2.3.4"),
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
        ("10.1.2.3", "10.1.2.3"),
    ])
    func formatsCanonically(text: String, expected: String) {
        #expect(IPAddress(text)?.description == expected)
    }

    @Test func bytesRoundTrip() {
        let v4 = IPAddress(v4Bytes: [127, 0, 0, 1])
        #expect(v4 == .v4(0x7F00_0001))
        #expect(v4.bytes == [127, 0, 0, 1])
        #expect(v4.isIPv4)
        let raw: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        let v6 = IPAddress(v6Bytes: raw)
        #expect(v6 == IPAddress("2001:db8::1"))
        #expect(v6.bytes == raw)
        #expect(!v6.isIPv4)
    }

    @Test func ordersV4BeforeV6ThenNumerically() {
        let sorted = ["::1", "10.0.0.1", "1.2.3.4", "::"].compactMap { IPAddress($0) }.sorted()
        #expect(sorted.map(\.description) == ["1.2.3.4", "10.0.0.1", "::", "::1"])
    }
}
