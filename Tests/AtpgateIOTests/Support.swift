#if canImport(Glibc)
import Glibc
#endif

// The two helpers of Tests/AtpgateEngineTests/Support that the I/O-layer tests use (a test target
// cannot import another's files); keep them the same as there.

/// Polls `condition` until it holds or `timeout` seconds pass.
func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
