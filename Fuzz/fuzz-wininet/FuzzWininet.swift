// libFuzzer target: the WinINET/WinHTTP settings codec and the .reg reader on hostile bytes.
//
// The input is tried three ways: as a settings blob (ConnectionSettings(decoding:)), as a .reg file
// (RegFileReader.values, whose binary values are decoded in turn) and as hex text (Hex.parse).
// Invariants (a violation traps, which libFuzzer reports as a crash):
// - the only failures are the typed errors (ConnectionSettingsError, RegFileError, Hex.ParseError);
// - a blob that decodes re-encodes to exactly the input bytes, trailer included, and decodes again
//   to an equal value (the round trip `wininet decode` output and written-back settings rely on);
// - error texts are one non-empty line, since the CLI prints them as `error: ...`;
// - what the .reg writer produces from decoded values reads back to the same values.
// Decoded strings also go through the WinINET bypass and proxy-server parsers (AtpgateClientConfig).
import AtpgateClientConfig
import AtpgateWindows

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    roundTrip(bytes)
    do throws(RegFileError) {
        let values = try RegFileReader.values(bytes)
        for value in values { roundTrip(value.bytes) }
        let rewritten = try RegFileReader.values(RegFileWriter.utf16LE(RegFileWriter.text(values)))
        check(rewritten.map(\.bytes) == values.map(\.bytes), ".reg rewrite changed the values")
    } catch {
        checkLine("\(error)")
    }
    do throws(Hex.ParseError) {
        roundTrip(try Hex.parse(String(decoding: bytes, as: UTF8.self)))
    } catch {
        checkLine("\(error)")
    }
    return 0
}

func roundTrip(_ bytes: [UInt8]) {
    do throws(ConnectionSettingsError) {
        let settings = try ConnectionSettings(decoding: bytes)
        _ = settings.warnings
        _ = settings.flags.names
        let encoded = try settings.encoded()
        check(encoded == bytes, "re-encoding changed the bytes")
        check(try ConnectionSettings(decoding: encoded) == settings, "decode(encode(x)) != x")
        _ = BypassList(settings.bypassList).match(host: "contoso-corpsensorapi.atp.azure.com")
        _ = ProxyServerList(settings.proxyServer).server(for: "https")
    } catch {
        checkLine("\(error)")
    }
}

func checkLine(_ message: String) {
    check(!message.isEmpty, "empty error message")
    check(!message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "message is not one clean line: \(message.debugDescription)")
}

func check(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String) {
    guard (try? condition()) == true else { fatalError("fuzz-wininet invariant: \(message())") }
}
