/// Duration values for `timeouts:`: "500ms", "10s", "1.5s", "2m", "1h", or a bare number
/// of seconds. Only this small grammar is accepted (no exponents, signs, infinities) so a
/// typo cannot turn into a zero or endless timeout.
enum DurationText {
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = factor
            break
        }
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let value = Double(number) else { return nil }
        let seconds = value * scale
        return seconds > 0 && seconds.isFinite ? seconds : nil
    }
}

extension DurationText {
    /// A duration as the policy would write it: the largest unit that states it exactly ("1h", "90s",
    /// "500ms"), else seconds with their fraction.
    static func text(_ seconds: Double) -> String {
        for (suffix, factor) in [("h", 3600.0), ("m", 60.0), ("s", 1.0)] {
            let count = seconds / factor
            if count >= 1, count == count.rounded(), count < 1e15 { return "\(Int(count))\(suffix)" }
        }
        let milliseconds = seconds * 1000
        if milliseconds == milliseconds.rounded(), milliseconds < 1e15 { return "\(Int(milliseconds))ms" }
        return "\(seconds)s"
    }
}
