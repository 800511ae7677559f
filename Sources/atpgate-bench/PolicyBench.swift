import AtpgateNet
import AtpgatePolicy

/// Scenario 6: compile time of a large policy and decisions per second on one thread,
/// using AtpgatePolicy directly (no sockets).
enum PolicyBench {
    /// A policy of `rules` rules: 40 % exact names, 30 % wildcards (two ports), 20 % http://
    /// path prefixes, the rest CIDR ranges, and one deny.
    static func yaml(rules: Int) -> String {
        let exact = rules * 4 / 10, wildcard = rules * 3 / 10, paths = rules * 2 / 10
        let cidr = max(0, rules - exact - wildcard - paths - 1)
        var lines = ["version: 1", "networks:", "  allow: [\"127.0.0.0/8\"]", "allow:"]
        for i in 0..<exact { lines.append("  - \"host\(i).example.com:443\"") }
        for i in 0..<wildcard { lines.append("  - \"*.tenant\(i).example.net:443,8443\"") }
        for i in 0..<paths { lines.append("  - \"http://crl\(i).example.org/pki/*\"") }
        for i in 0..<cidr {
            let prefix = i % 2 == 0 ? 24 : 28
            lines.append("  - \"100.\(64 + i / 256).\(i % 256).0/\(prefix):443\"")
        }
        lines.append("deny:")
        lines.append("  - \"host77.example.com:*\"")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A deterministic mix of hits and misses over every rule kind.
    static func requests(rules: Int, count: Int = 4096) -> [DecisionRequest] {
        let client = IPAddress("127.0.0.1")!
        let exact = max(1, rules * 4 / 10), wildcard = max(1, rules * 3 / 10), paths = max(1, rules * 2 / 10)
        let cidr = max(1, rules - exact - wildcard - paths - 1)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        func name(_ text: String) -> Host { try! Host.normalize(text) }
        var requests: [DecisionRequest] = []
        for index in 0..<count {
            let request: DecisionRequest
            switch index % 8 {
            case 0: request = DecisionRequest(client: client, host: name("host\(next(exact)).example.com"), port: 443, kind: .connect)
            case 1: request = DecisionRequest(client: client, host: name("nohost\(next(exact)).example.com"), port: 443, kind: .connect)
            case 2: request = DecisionRequest(client: client, host: name("a.b.tenant\(next(wildcard)).example.net"), port: 8443, kind: .connect)
            case 3: request = DecisionRequest(client: client, host: name("x.tenant\(next(wildcard)).example.org"), port: 443, kind: .connect)
            case 4: request = DecisionRequest(client: client, host: name("crl\(next(paths)).example.org"), port: 80,
                                              kind: .http(path: "/pki/root\(index).crl?x=1"))
            case 5: request = DecisionRequest(client: client, host: name("crl\(next(paths)).example.org"), port: 80, kind: .http(path: "/other/file"))
            case 6:
                let i = next(cidr)
                request = DecisionRequest(client: client, host: name("100.\(64 + i / 256).\(i % 256).9"), port: 443, kind: .connect)
            default: request = DecisionRequest(client: client, host: name("192.0.2.\(next(250))"), port: 443, kind: .connect)
            }
            requests.append(request)
        }
        return requests
    }

    static let kindNames = ["exact hit", "exact miss", "wildcard hit", "wildcard miss", "http path hit",
                            "http path miss", "CIDR hit", "address miss"]

    /// Decisions/s for each request kind alone (the mix cycles through them in this order).
    static func byKind(rules: Int, seconds: Double) throws(PolicyError) -> [(String, Double)] {
        let policy = try PolicyLoader.parse(yaml: yaml(rules: rules), file: "bench-policy.yaml")
        let all = requests(rules: rules)
        return kindNames.enumerated().map { kind, name in
            let requests = all.enumerated().filter { $0.offset % 8 == kind }.map(\.element)
            var decisions = 0, allowed = 0, rounds = 0
            let start = nowNanos()
            let end = start + UInt64(seconds * 1e9)
            while nowNanos() < end && rounds < 1_000_000 {
                for request in requests where policy.decide(request).isAllowed { allowed &+= 1 }
                decisions += requests.count
                rounds += 1
            }
            return (name + (allowed > 0 ? "" : " (all denied)"), Double(decisions) / (Double(nowNanos() - start) / 1e9))
        }
    }

    struct Result {
        var rules: Int
        var compileMs: [Double]
        var decisionsPerSecond: Double
        var allowedFraction: Double
    }

    static func run(rules: Int, seconds: Double, compileReps: Int) throws(PolicyError) -> Result {
        let text = yaml(rules: rules)
        var compile: [Double] = []
        var policy: Policy?
        for _ in 0..<max(1, compileReps) {
            let start = nowNanos()
            policy = try PolicyLoader.parse(yaml: text, file: "bench-policy.yaml")
            compile.append(Double(nowNanos() - start) / 1e6)
        }
        let compiled = policy!
        let requests = requests(rules: rules)
        // Warm up, then a timed loop bounded by `seconds` (and by a count, in case time stands still).
        var allowed = 0
        for request in requests where compiled.decide(request).isAllowed { allowed += 1 }
        allowed = 0
        var decisions = 0
        let start = nowNanos()
        let end = start + UInt64(seconds * 1e9)
        var rounds = 0
        while nowNanos() < end && rounds < 1_000_000 {
            for request in requests where compiled.decide(request).isAllowed { allowed &+= 1 }
            decisions += requests.count
            rounds += 1
        }
        let elapsed = Double(nowNanos() - start) / 1e9
        return Result(rules: rules, compileMs: compile, decisionsPerSecond: Double(decisions) / elapsed,
                      allowedFraction: Double(allowed) / Double(max(1, decisions)))
    }
}
