import Dispatch
import Logging
import AtpgateIO

/// Tells the operator when access-log lines are lost: a warning on stderr at most once per `interval`
/// while lines are being dropped (the first one soon after the first drop), and the total at shutdown.
/// The writer only counts drops, so that producers on the I/O queues never log; this reads the count on
/// its own timer. Confined to `queue`.
public final class DropReporter: @unchecked Sendable {
    private let writer: LineWriter
    private let logger: Logger
    private let interval: Double
    private let queue = DispatchQueue(label: "atpgate.log-drops")
    private var timer: DispatchSourceTimer?
    private var reported = 0
    private var lastWarning: UInt64?

    /// `interval` seconds between warnings (a minute in production; tests use less).
    public init(writer: LineWriter, logger: Logger, interval: Double = 60) {
        self.writer = writer
        self.logger = logger
        self.interval = interval
    }

    /// Starts checking the count: every second, or more often for a short `interval`.
    public func start() {
        let period = min(1.0, interval / 4)
        queue.sync {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + period, repeating: period, leeway: .milliseconds(Int(period * 100)))
            timer.setEventHandler { [weak self] in self?.check() }
            timer.resume()
            self.timer = timer
        }
    }

    /// Stops the timer and logs the total lost over the whole run, if any.
    public func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
            let total = writer.dropped
            if total > 0 {
                logger.warning("access log: \(total) line\(total == 1 ? "" : "s") dropped in total (the log did not keep up)")
            }
        }
    }

    private func check() {
        let total = writer.dropped
        guard total > reported else { return }
        let now = monotonicNanos()
        if let last = lastWarning, Double(now &- last) / 1e9 < interval { return }
        logger.warning("access log: \(total - reported) line\(total - reported == 1 ? "" : "s") dropped since the last report, \(total) in total: the log (stdout or log.access) is not keeping up")
        reported = total
        lastWarning = now
    }
}
