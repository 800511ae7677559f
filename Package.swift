// swift-tools-version:6.0
import PackageDescription

// Targets are split by concern; dependencies point one way only:
//   atpgate (exe) -> AtpgateCLI -> AtpgateEngine -> AtpgateClientConfig -> AtpgatePolicy -> AtpgateNet
//                           |-> AtpgateDoctor -> AtpgatePolicy, AtpgateHTTP, AtpgateTLS, AtpgateIO (blocking, `atpgate doctor`)
//                           |                |                      \-> AtpgateWindows
//                           |                |-> AtpgateHTTP
//                           |                |-> AtpgateTLSHello
//                           |                |-> AtpgateTLS -> CAtpgateOpenSSL -> COpenSSL (system OpenSSL 3)
//                           |                |             \-> AtpgateIO
//                           |                \-> AtpgateIO -> CAtpgateSys
//                           |                             \-> AtpgateNet
//                           \-> AtpgateIO, AtpgateClientConfig, AtpgateWindows
// The engine's metrics go through swift-metrics and swift-prometheus (its own registry, no global bootstrap).
// AtpgateWindows (pure codecs of Windows formats) depends on no other target. A target also lists
// the targets further down that it imports itself (the engine and AtpgateClientConfig list
// AtpgatePolicy and AtpgateNet; the CLI lists AtpgatePolicy, AtpgateHTTP and AtpgateNet).
// AtpgateIO is the OS seam and the loops (sockets, epoll, splice, inotify, timers); it needs
// AtpgateNet only for `IPAddress` in `SocketAddress`. No pure target depends on it.
// The policy engine knows nothing of sockets, the HTTP codec knows nothing of sockets, the Windows
// codecs know nothing of policies, the engine knows nothing of YAML, and the CLI is thin.
let package = Package(
    name: "atpgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "atpgate", targets: ["atpgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // IP addresses, networks and host-name normalisation: pure values, no I/O.
        .target(name: "AtpgateNet"),
        // The policy file, its compiled rules, decisions and address vetting. No sockets.
        .target(name: "AtpgatePolicy", dependencies: [
            "AtpgateNet",
            .product(name: "Yams", package: "Yams"),
        ]),
        // HTTP/1.1 head parsing, framing and head rewriting. No sockets.
        .target(name: "AtpgateHTTP"),
        // The TLS ClientHello as a proxy that does not decrypt sees it: record reassembly, a bounds-checked
        // parser (SNI, ALPN, versions, ciphers, extensions, signature algorithms, ECH), JA4. Pure: no
        // sockets, no OpenSSL.
        .target(name: "AtpgateTLSHello"),
        // The system OpenSSL 3 (libssl-dev), for TLS inspection only.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // C functions around the OpenSSL macros and variadic calls Swift cannot import.
        .target(name: "CAtpgateOpenSSL", dependencies: ["COpenSSL"]),
        // TLS inspection's OpenSSL face: certificates and keys, the inspector's CA and minted leaves, TLS
        // contexts, and a TLS stream over the I/O layer's ByteStream seam. No policy, no HTTP.
        .target(name: "AtpgateTLS", dependencies: ["COpenSSL", "CAtpgateOpenSSL", "AtpgateIO"]),
        // Linux calls Swift's Glibc module does not expose (splice, pipe2, accept4, F_SETPIPE_SZ).
        .target(name: "CAtpgateSys"),
        // The I/O layer: sockets, addresses, splice pipes, inotify, process set-up (OS/), and the
        // loops with their epoll sets, timers and socket channels (Loop/). No policy, no HTTP.
        .target(name: "AtpgateIO", dependencies: ["CAtpgateSys", "AtpgateNet"]),
        // The Dispatch-based I/O engine: listeners, resolver, dialer, relay, access log.
        .target(name: "AtpgateEngine", dependencies: [
            "AtpgateIO", "AtpgateNet", "AtpgatePolicy", "AtpgateHTTP", "AtpgateClientConfig", "AtpgateTLSHello", "AtpgateTLS",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // `atpgate doctor`: every ATP endpoint a policy allows, checked from the proxy host step by step
        // (resolve, vet, TCP, TLS with SNI and the certificate check, the classic sensor's ping). Blocking
        // sockets and blocking OpenSSL: a one-shot diagnostic, never in the proxy path.
        .target(name: "AtpgateDoctor", dependencies: [
            "AtpgatePolicy", "AtpgateNet", "AtpgateHTTP", "AtpgateTLS", "AtpgateIO", "COpenSSL", "CAtpgateOpenSSL",
        ]),
        // Windows formats: WinINET/WinHTTP settings blobs, hex, .reg files, PowerShell/netsh scripts,
        // cmd and PowerShell quoting. Pure codecs: no policy, no I/O.
        .target(name: "AtpgateWindows"),
        // Client configuration derived from a policy: PAC files, WinINET bypass and proxy-server
        // matching, the route check of decoded settings, sensor command lines. Pure values and text, no I/O.
        .target(name: "AtpgateClientConfig", dependencies: ["AtpgatePolicy", "AtpgateNet", "AtpgateWindows"]),
        // Command-line commands (thin: parse arguments, call the library).
        .target(name: "AtpgateCLI", dependencies: [
            "AtpgateEngine", "AtpgateIO", "AtpgatePolicy", "AtpgateHTTP", "AtpgateNet", "AtpgateClientConfig", "AtpgateWindows",
            "AtpgateTLS", "AtpgateDoctor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "atpgate", dependencies: ["AtpgateCLI"]),
        // The load generator of scripts/bench (plain threads and blocking sockets, HdrHistogram; OpenSSL in
        // blocking mode for the inspection scenarios).
        .executableTarget(name: "atpgate-bench", dependencies: [
            "AtpgatePolicy", "AtpgateNet", "COpenSSL", "CAtpgateOpenSSL", "AtpgateTLS",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "AtpgatePolicyTests", dependencies: ["AtpgatePolicy", "AtpgateNet"]),
        .testTarget(name: "AtpgateHTTPTests", dependencies: ["AtpgateHTTP"]),
        .testTarget(name: "AtpgateTLSHelloTests", dependencies: ["AtpgateTLSHello"]),
        .testTarget(name: "AtpgateWindowsTests", dependencies: ["AtpgateWindows", "AtpgatePolicy"]),
        .testTarget(name: "AtpgateClientConfigTests", dependencies: [
            "AtpgateClientConfig", "AtpgateWindows", "AtpgatePolicy", "AtpgateNet",
        ]),
        .testTarget(name: "AtpgateIOTests", dependencies: ["AtpgateIO"]),
        .testTarget(name: "AtpgateTLSTests", dependencies: ["AtpgateTLS", "AtpgateIO", "COpenSSL"]),
        .testTarget(name: "AtpgateEngineTests", dependencies: [
            "AtpgateEngine", "AtpgateIO", "AtpgatePolicy", "AtpgateNet", "AtpgateHTTP", "AtpgateTLSHello", "AtpgateTLS",
            "AtpgateDoctor",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (scripts/fuzz). A fuzz target has no main(), so it only links when built with
// --sanitize=fuzzer: the targets exist only when ATPGATE_FUZZ is set.
if Context.environment["ATPGATE_FUZZ"] != nil {
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("fuzz-http-head", ["AtpgateHTTP"]),
        ("fuzz-chunked", ["AtpgateHTTP"]),
        ("fuzz-http-response", ["AtpgateHTTP"]),
        ("fuzz-authority", ["AtpgateHTTP", "AtpgateNet"]),
        ("fuzz-policy", ["AtpgatePolicy"]),
        ("fuzz-wininet", ["AtpgateWindows", "AtpgateClientConfig"]),
        ("fuzz-client-hello", ["AtpgateTLSHello"]),
    ]
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(name: name, dependencies: dependencies, path: "Fuzz/\(name)"))
    }
}
