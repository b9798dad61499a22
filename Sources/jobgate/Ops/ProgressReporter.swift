@preconcurrency import Glibc

/// Shows how far a long, stepwise operation has got, on stderr so stdout stays clean for scripts.
/// On a terminal it redraws one bar in place; otherwise (a log file, a CI job) it writes plain
/// lines, at most one a second besides the first and the last, so a long run logs a few lines
/// rather than one per step.
final class ProgressReporter {
    private let label: String
    private let drawsBar = isatty(STDERR_FILENO) == 1
    private var lastShownAt: Double?
    private var barIsOpen = false

    static let barWidth = 30
    static let secondsBetweenLines = 1.0
    static let secondsBetweenRedraws = 0.1

    init(label: String) {
        self.label = label
    }

    func update(done: Int, of total: Int, isLast: Bool = false) {
        let now = monotonicSeconds()
        let interval = drawsBar ? Self.secondsBetweenRedraws : Self.secondsBetweenLines
        if !isLast, let lastShownAt, now - lastShownAt < interval { return }
        lastShownAt = now
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 1
        let percent = Int((fraction * 100).rounded(.down))
        if drawsBar {
            let filled = Int((fraction * Double(Self.barWidth)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: Self.barWidth - filled)
            // \r and erase-to-end-of-line redraw the same line in place.
            writeToStandardError("\r\u{1B}[K\(label) [\(bar)] \(done)/\(total) \(percent)%")
            barIsOpen = true
        } else {
            writeToStandardError("\(label): \(done)/\(total) (\(percent)%)\n")
        }
    }

    /// Ends the bar's line so whatever comes next starts on its own.
    func finish() {
        if barIsOpen { writeToStandardError("\n") }
        barIsOpen = false
    }
}
