import Dispatch
import Foundation
import AtpgateIO
import Testing
@testable import AtpgateTLS

/// The leaf cache the I/O loops share: LRU by host and CA, one mint per burst of misses, answers on the
/// asking loop's queue.
@Suite("Leaf cache")
struct LeafCacheTests {
    static let now = Int64(Date().timeIntervalSince1970)

    /// `cache.leaf(…)` awaited (a continuation, not a semaphore: blocking the test's thread could starve the
    /// Dispatch pool the mint runs on).
    private func leaf(_ cache: LeafCache, _ host: LeafHost, _ ca: CertificateAuthority, now: Int64 = now,
                      queue: DispatchQueue = DispatchQueue(label: "test")) async throws -> MintedLeaf {
        try await withCheckedContinuation { continuation in
            cache.leaf(for: host, ca: ca, now: now, on: queue) { continuation.resume(returning: $0) }
        }.get()
    }

    @Test func aHitIsTheSameCertificate() async throws {
        let ca = try CertificateAuthority.create()
        let cache = LeafCache()
        let first = try await leaf(cache, .dns("a.test"), ca)
        let second = try await leaf(cache, .dns("a.test"), ca)
        #expect(first.certificate === second.certificate)
        #expect(cache.cachedLeaf(for: .dns("a.test"), ca: ca, now: Self.now)?.certificate === first.certificate)
        #expect(cache.mintedCount == 1 && cache.count == 1)
        let other = try await leaf(cache, .dns("b.test"), ca)
        #expect(other.certificate !== first.certificate && cache.count == 2)
    }

    @Test func theLeastRecentlyUsedLeafGoesFirst() async throws {
        let ca = try CertificateAuthority.create()
        let cache = LeafCache(capacity: 2)
        _ = try await leaf(cache, .dns("a.test"), ca)
        _ = try await leaf(cache, .dns("b.test"), ca)
        _ = try await leaf(cache, .dns("a.test"), ca)
        _ = try await leaf(cache, .dns("c.test"), ca)
        #expect(cache.count == 2)
        #expect(cache.cachedLeaf(for: .dns("a.test"), ca: ca, now: Self.now) != nil)
        #expect(cache.cachedLeaf(for: .dns("b.test"), ca: ca, now: Self.now) == nil)
        #expect(cache.cachedLeaf(for: .dns("c.test"), ca: ca, now: Self.now) != nil)
        #expect(cache.mintedCount == 3)
    }

    @Test func anotherCAIsAnotherEntryAndRemoveAllEmpties() async throws {
        let (first, second) = (try CertificateAuthority.create(), try CertificateAuthority.create())
        let cache = LeafCache()
        let one = try await leaf(cache, .dns("a.test"), first)
        let two = try await leaf(cache, .dns("a.test"), second)
        #expect(one.certificate !== two.certificate)
        #expect(two.certificate.issuer == second.certificate.subject && two.chain[1] === second.certificate)
        #expect(cache.count == 2 && cache.mintedCount == 2)
        cache.removeAll()
        #expect(cache.count == 0)
        #expect(cache.cachedLeaf(for: .dns("a.test"), ca: first, now: Self.now) == nil)
        _ = try await leaf(cache, .dns("a.test"), first)
        #expect(cache.mintedCount == 3)
    }

    @Test func concurrentMissesMintOnce() async throws {
        let ca = try CertificateAuthority.create()
        let cache = LeafCache()
        let results = await burst(cache, .dns("burst.test"), ca, count: 20)
        let certificates = try results.map { try $0.get().certificate }
        #expect(certificates.count == 20)
        #expect(certificates.allSatisfy { $0 === certificates[0] })
        #expect(cache.mintedCount == 1)
    }

    @Test func aLeafExpiringWithinADayIsMintedAgain() async throws {
        let ca = try CertificateAuthority.create()
        let cache = LeafCache()
        let first = try await leaf(cache, .dns("a.test"), ca)
        // 30 days less the backdated hour: 29 days later it still has 23 hours, so it is renewed.
        let later = Self.now + 29 * 86400
        #expect(cache.cachedLeaf(for: .dns("a.test"), ca: ca, now: Self.now + 28 * 86400)?.certificate === first.certificate)
        let renewed = try await leaf(cache, .dns("a.test"), ca, now: later)
        #expect(renewed.certificate !== first.certificate)
        #expect(renewed.notAfter == later - 3600 + 30 * 86400)
        #expect(cache.mintedCount == 2 && cache.count == 1)
    }

    @Test func answersArriveOnTheCallersQueue() async throws {
        let ca = try CertificateAuthority.create()
        let cache = LeafCache()
        let marker = DispatchSpecificKey<String>()
        let queue = DispatchQueue(label: "loop")
        queue.setSpecific(key: marker, value: "loop")
        for attempt in ["miss", "hit"] {
            let seen = await withCheckedContinuation { continuation in
                cache.leaf(for: .dns("a.test"), ca: ca, now: Self.now, on: queue) { _ in
                    continuation.resume(returning: DispatchQueue.getSpecific(key: marker))
                }
            }
            #expect(seen == "loop", "\(attempt)")
        }
        #expect(cache.mintedCount == 1)
    }

    @Test func aHitIsAnsweredAsynchronously() async throws {
        let ca = try CertificateAuthority.create()
        let cache = LeafCache()
        let queue = DispatchQueue(label: "loop")
        _ = try await leaf(cache, .dns("a.test"), ca, queue: queue)
        // Asked from the loop's own queue, a hit must not run the completion inside the call.
        let order = Locked<[String]>([])
        await withCheckedContinuation { continuation in
            queue.async {
                cache.leaf(for: .dns("a.test"), ca: ca, now: Self.now, on: queue) { _ in
                    order.withLock { $0.append("completion") }
                    continuation.resume()
                }
                order.withLock { $0.append("returned") }
            }
        }
        #expect(order.withLock { $0 } == ["returned", "completion"])
    }

    @Test func aFailedMintReachesEveryWaiterAndIsNotCached() async throws {
        let ca = try CertificateAuthority.create()
        let cache = LeafCache()
        let results = await burst(cache, .dns("not a host"), ca, count: 5)
        #expect(results.count == 5)
        for result in results {
            #expect(throws: OpenSSLError.self) { try result.get() }
        }
        #expect(cache.count == 0 && cache.mintedCount == 0)
    }

    /// `count` requests for one host issued at once from as many threads, each answered on its own queue.
    private func burst(_ cache: LeafCache, _ host: LeafHost, _ ca: CertificateAuthority, count: Int) async
        -> [Result<MintedLeaf, OpenSSLError>] {
        // A class (Locked), not a Mutex value: an escaping closure captures a noncopyable `let` as a box it
        // modifies on each use, which ThreadSanitizer reports as a race between the completions.
        let results = Locked<[Result<MintedLeaf, OpenSSLError>]>([])
        await withCheckedContinuation { continuation in
            let group = DispatchGroup()
            DispatchQueue.concurrentPerform(iterations: count) { index in
                group.enter()
                cache.leaf(for: host, ca: ca, now: Self.now, on: DispatchQueue(label: "loop \(index)")) { result in
                    results.withLock { $0.append(result) }
                    group.leave()
                }
            }
            group.notify(queue: .global()) { continuation.resume() }
        }
        return results.withLock { $0 }
    }
}
