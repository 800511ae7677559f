/// What `doctor` found: one row per endpoint, printed as a table that stays within `width` columns (a long
/// result wraps onto indented lines).
public struct DoctorReport: Sendable {
    /// The policy file, as given.
    public let policy: String
    /// Which endpoints were checked: the atp block's, or the policy's own rules without one.
    public let source: String
    public let results: [EndpointResult]

    public static let width = 100

    public init(policy: String, source: String, results: [EndpointResult]) {
        self.policy = policy
        self.source = source
        self.results = results
    }

    /// Every endpoint that can be checked passed (true too when none can: the summary line says so).
    public var passed: Bool { !results.contains(where: \.failed) }

    /// The exit status of `atpgate doctor`: 0 when every checkable endpoint passed, else 1.
    public var exitCode: Int32 { passed ? 0 : 1 }

    /// The heading, the table and the summary line.
    public var lines: [String] {
        var lines = ["atpgate doctor: \(policy) (\(source))"]
        guard !results.isEmpty else { return lines + ["nothing to check: the policy allows no endpoint"] }
        let header = ["ENDPOINT", "KIND", "ADDRESS", "STEP", "RESULT"]
        let rows = results.map { [$0.endpoint.display, $0.endpoint.kind.rawValue, $0.address ?? "-", $0.step?.rawValue ?? "-",
                                  Self.resultText($0.outcome)] }
        var widths = header.dropLast().map(\.count)
        for row in rows {
            for column in widths.indices { widths[column] = max(widths[column], row[column].count) }
        }
        for row in [header] + rows {
            let lead = zip(row, widths).map { $0.0.padding(to: $0.1) + "  " }.joined()
            lines += Self.layout(row[4], after: lead)
        }
        lines.append(summary)
        return lines
    }

    /// "5 endpoints: 3 passed, 1 failed, 1 not checkable (wildcard)".
    public var summary: String {
        let passedCount = results.filter(\.passed).count
        let failedCount = results.filter(\.failed).count
        let uncheckable = results.count - passedCount - failedCount
        var text = "\(results.count) endpoint\(results.count == 1 ? "" : "s"): \(passedCount) passed, \(failedCount) failed"
        if uncheckable > 0 { text += ", \(uncheckable) not checkable by name" }
        if passedCount + failedCount == 0 { text += " (nothing checkable)" }
        return text
    }

    static func resultText(_ outcome: EndpointOutcome) -> String {
        switch outcome {
        case .passed(let detail): return "ok: " + detail
        case .failed(let reason): return "FAIL: " + reason
        case .notCheckable(let reason): return "not checkable: " + reason
        }
    }

    /// The result after the row's other columns when it fits in `width`; else its status word ("ok",
    /// "FAIL:", "not checkable:") there and the rest below, indented and broken at spaces. A word longer
    /// than a line is left whole (a host name or reason is never cut).
    static func layout(_ result: String, after lead: String) -> [String] {
        if lead.count + result.count <= width { return [lead + result] }
        let status = result.prefix { $0 != ":" } + ":"
        let rest = result.dropFirst(status.count)
        var lines = [lead + status]
        var line = ""
        for word in rest.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? String(repeating: " ", count: continuationIndent) : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    static let continuationIndent = 4
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
