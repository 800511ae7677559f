import Foundation
import AtpgateIO

/// One scrape of `/metrics`, read by a real parser: PyPI's `prometheus_client` (its
/// `text_string_to_metric_families`), never a regex. Samples are keyed `name{label="value",...}` with the
/// labels in alphabetical order; `families` maps each family to its type.
struct PrometheusScrape {
    let samples: [String: Double]
    let families: [String: String]

    /// GETs `http://127.0.0.1:port/metrics` with real curl and parses the body.
    static func scrape(adminPort: UInt16) throws -> PrometheusScrape {
        let fetched = try runCommand("/usr/bin/curl", ["-sS", "--fail", "--noproxy", "*", "--max-time", "10",
                                                       "http://127.0.0.1:\(adminPort)/metrics"])
        guard fetched.status == 0 else { throw TestError("scrape failed: \(fetched.stderr)") }
        return try parse(fetched.stdout)
    }

    static let parser = """
    import json, sys
    from prometheus_client.parser import text_string_to_metric_families
    samples, families = {}, {}
    for family in text_string_to_metric_families(sys.stdin.read()):
        families[family.name] = family.type
        for s in family.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
            samples["%s{%s}" % (s.name, labels)] = s.value
    print(json.dumps({"samples": samples, "families": families}))
    """

    static func parse(_ text: String) throws -> PrometheusScrape {
        let input = try TemporaryDirectory()
        let file = try input.write("metrics.txt", text)
        let script = try input.write("parse.py", parser)
        var result = try runCommand("/bin/sh", ["-c", "exec python3 \"$0\" < \"$1\"", script, file])
        if result.status != 0 && result.stderr.contains("No module named 'prometheus_client'") {
            // A fresh machine: `swift test` should pass there too (`.ci/run` installs it up front).
            try installParser()
            result = try runCommand("/bin/sh", ["-c", "exec python3 \"$0\" < \"$1\"", script, file])
        }
        guard result.status == 0 else { throw TestError("prometheus_client could not parse the scrape: \(result.stderr)") }
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let samples = object["samples"] as? [String: Double], let families = object["families"] as? [String: String]
        else { throw TestError("unexpected parser output: \(result.stdout)") }
        return PrometheusScrape(samples: samples, families: families)
    }

    private static let installed = Locked(false)

    /// `pip install prometheus_client`, once per test run.
    private static func installParser() throws {
        try installed.withLock { done in
            guard !done else { return }
            let pip = try runCommand("/bin/sh", ["-c", "python3 -m pip install --quiet prometheus_client"], timeout: 300)
            guard pip.status == 0 else { throw TestError("cannot install prometheus_client with pip: \(pip.stderr)") }
            done = true
        }
    }

    /// The sample `name{labels}` (labels given in any order); nil when the series is missing.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let key = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
        return samples["\(name){\(key)}"]
    }

    /// How much each sample grew since `earlier` (missing earlier samples count from 0).
    func delta(since earlier: PrometheusScrape, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        guard let now = value(name, labels) else { return nil }
        return now - (earlier.value(name, labels) ?? 0)
    }
}
