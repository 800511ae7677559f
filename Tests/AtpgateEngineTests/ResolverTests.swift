import Testing
import Foundation
import AtpgateNet
@testable import AtpgateEngine
import AtpgateIO

/// The default resolver's machinery (threads, coalescing, caches, back-pressure) with a stand-in
/// lookup: no test may send a DNS query.
@Suite("System resolver")
struct ResolverTests {
    /// A lookup that blocks until released and counts its calls.
    final class GatedLookup: @unchecked Sendable {
        let calls = Locked<[String]>([])
        let gate = DispatchSemaphore(value: 0)
        let answer: Result<[IPAddress], ResolveError>

        init(answer: Result<[IPAddress], ResolveError>) { self.answer = answer }

        var lookup: SystemResolver.Lookup {
            { [self] name in
                calls.withLock { $0.append(name) }
                gate.wait()
                return answer
            }
        }
    }

    static func resolve(_ resolver: SystemResolver, _ name: String, results: Locked<[Result<[IPAddress], ResolveError>]>) {
        resolver.resolve(name) { result in results.withLock { $0.append(result) } }
    }

    static func wait(until condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(5)
        while !condition() && Date() < deadline { usleep(2000) }
    }

    @Test("concurrent lookups of one name share one lookup, then the answer is cached")
    func coalescesAndCaches() {
        let fake = GatedLookup(answer: .success([IPAddress("192.0.2.1")!]))
        let resolver = SystemResolver(lookup: fake.lookup)
        defer { resolver.stop(); for _ in 0..<4 { fake.gate.signal() } }
        let results = Locked<[Result<[IPAddress], ResolveError>]>([])
        for _ in 0..<5 { Self.resolve(resolver, "a.test", results: results) }
        Self.wait { fake.calls.value.count == 1 }
        fake.gate.signal()
        Self.wait { results.value.count == 5 }
        #expect(results.value.count == 5)
        #expect(fake.calls.value == ["a.test"])
        // Cached: answered at once, without another lookup.
        Self.resolve(resolver, "a.test", results: results)
        #expect(results.value.count == 6)
        #expect(fake.calls.value.count == 1)
    }

    @Test("failures are cached briefly (negative cache)")
    func negativeCache() {
        let fake = GatedLookup(answer: .failure(.notFound("NXDOMAIN")))
        var configuration = SystemResolver.Configuration()
        configuration.negativeTTL = 60
        let resolver = SystemResolver(configuration: configuration, lookup: fake.lookup)
        defer { resolver.stop(); for _ in 0..<4 { fake.gate.signal() } }
        let results = Locked<[Result<[IPAddress], ResolveError>]>([])
        Self.resolve(resolver, "nx.test", results: results)
        fake.gate.signal()
        Self.wait { results.value.count == 1 }
        Self.resolve(resolver, "nx.test", results: results)
        #expect(results.value.count == 2)
        #expect(fake.calls.value.count == 1)
        #expect(results.value.allSatisfy { $0 == .failure(.notFound("NXDOMAIN")) })
    }

    @Test("a full queue answers busy at once")
    func busyWhenQueueFull() {
        let fake = GatedLookup(answer: .success([IPAddress("192.0.2.1")!]))
        var configuration = SystemResolver.Configuration()
        configuration.threads = 1
        configuration.maxPending = 2
        let resolver = SystemResolver(configuration: configuration, lookup: fake.lookup)
        defer { resolver.stop(); for _ in 0..<8 { fake.gate.signal() } }
        let results = Locked<[Result<[IPAddress], ResolveError>]>([])
        Self.resolve(resolver, "one.test", results: results)      // taken by the only thread
        Self.wait { fake.calls.value.count == 1 }
        Self.resolve(resolver, "two.test", results: results)      // queued
        Self.resolve(resolver, "three.test", results: results)    // queued
        Self.resolve(resolver, "four.test", results: results)     // queue full
        #expect(results.value == [.failure(.busy)])
    }

    @Test("addresses are dialled IPv6 / IPv4 interleaved, each family in its own order")
    func interleaving() {
        let addresses = ["192.0.2.1", "192.0.2.2", "2001:db8::1", "192.0.2.3", "2001:db8::2"].map {
            SocketAddress(ip: IPAddress($0)!, port: 443)
        }
        #expect(interleaveFamilies(addresses).map(\.ip.description)
                == ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "192.0.2.3"])
    }
}
