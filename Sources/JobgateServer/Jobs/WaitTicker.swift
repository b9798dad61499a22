/// A tick every 50 ms that runs only while requests wait (blocking leases, results): how they
/// notice their deadline, or a client that left, between wake-ups. Every 20th tick (once a
/// second) is marked: waiters look again then in case a wake-up was missed.
final class WaitTicker {
    static let periodMs: UInt64 = 50
    private var timer: LoopTimer?
    private var running = false
    private var ticks = 0
    /// Runs on each tick with whether it is a once-a-second one; returns whether anyone still waits.
    private let tick: (_ secondly: Bool) -> Bool

    init(loop: EventLoop, tick: @escaping (_ secondly: Bool) -> Bool) {
        self.tick = tick
        timer = LoopTimer(loop) { [unowned self] in
            self.ticks += 1
            if !self.tick(self.ticks % 20 == 0) {
                self.timer?.stop()
                self.running = false
            }
        }
    }

    func ensureRunning() {
        guard !running else { return }
        running = true
        timer?.start(afterMs: WaitTicker.periodMs, repeatMs: WaitTicker.periodMs)
    }
}
