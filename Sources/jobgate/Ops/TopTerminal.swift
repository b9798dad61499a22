@preconcurrency import Glibc

/// The terminal as `jobgate top` uses it: plain ANSI sequences, no curses. Keys are read one at a
/// time without echo; the alternate screen keeps the user's scrollback; everything is put back on
/// `restore`, also after Ctrl-C, SIGTERM or a closed SSH session.
final class TopTerminal {
    private var saved = termios()
    private let isInteractive = isatty(STDIN_FILENO) == 1
    private let drawsScreen = isatty(STDOUT_FILENO) == 1
    private var inputEnded = false

    init() {
        if isInteractive {
            tcgetattr(STDIN_FILENO, &saved)
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
            tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        }
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig) { _ in topStopRequested = 1 } }
        if drawsScreen { write("\u{1B}[?1049h\u{1B}[?25l") }
    }

    func restore() {
        if drawsScreen { write("\u{1B}[?25h\u{1B}[?1049l") }
        if isInteractive { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
    }

    /// Columns and rows; 80x24 when stdout is not a terminal.
    var size: (columns: Int, rows: Int) {
        var w = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 else { return (80, 24) }
        return (Int(w.ws_col), Int(w.ws_row))
    }

    /// Draws `lines` over the previous frame: home, each line cleared to its end, the rest erased.
    func draw(_ lines: [String]) {
        if drawsScreen {
            write("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\r\n") + "\u{1B}[J")
        } else {
            write(lines.joined(separator: "\n") + "\n\n")
        }
    }

    /// Waits up to `milliseconds` for a key; true when it asks to quit (q, Q, Ctrl-C) or a
    /// signal did.
    func waitForQuit(milliseconds: Int) -> Bool {
        var left = milliseconds
        let deadline = monotonicMs() + milliseconds
        while left > 0 && topStopRequested == 0 {
            if inputEnded {
                usleep(useconds_t(min(left, 100) * 1000))
            } else {
                var fd = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
                if poll(&fd, 1, Int32(left)) > 0 {
                    var byte: UInt8 = 0
                    let n = read(STDIN_FILENO, &byte, 1)
                    if n == 1 && (byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") || byte == 3) { return true }
                    if n == 0 { inputEnded = true }  // stdin closed (not a terminal): only signals stop top
                }
            }
            left = deadline - monotonicMs()
        }
        return topStopRequested != 0
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }
}

/// Set by the signal handler; read by the refresh loop.
nonisolated(unsafe) var topStopRequested: sig_atomic_t = 0

func monotonicMs() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}
