@preconcurrency import Glibc

/// Structured logs on stderr: `ts=… level=… msg="…" key=value`. Never a job's payload.
public enum Log {
    public enum Level: Int, Comparable, Sendable {
        case debug, info, warn, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public init?(name: String) {
            switch name {
            case "debug": self = .debug
            case "info": self = .info
            case "warn": self = .warn
            case "error": self = .error
            default: return nil
            }
        }
    }

    nonisolated(unsafe) public static var threshold = Level.info

    public static func debug(_ msg: String, _ fields: KeyValuePairs<String, Any> = [:]) { write(.debug, msg, fields) }
    public static func info(_ msg: String, _ fields: KeyValuePairs<String, Any> = [:]) { write(.info, msg, fields) }
    public static func warn(_ msg: String, _ fields: KeyValuePairs<String, Any> = [:]) { write(.warn, msg, fields) }
    public static func error(_ msg: String, _ fields: KeyValuePairs<String, Any> = [:]) { write(.error, msg, fields) }

    private static func write(_ level: Level, _ msg: String, _ fields: KeyValuePairs<String, Any>) {
        guard level >= threshold else { return }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tm = tm()
        var secs = ts.tv_sec
        gmtime_r(&secs, &tm)
        var line = "ts=\(pad(Int(tm.tm_year) + 1900, 4))-\(pad(Int(tm.tm_mon) + 1, 2))-\(pad(Int(tm.tm_mday), 2))"
            + "T\(pad(Int(tm.tm_hour), 2)):\(pad(Int(tm.tm_min), 2)):\(pad(Int(tm.tm_sec), 2)).\(pad(ts.tv_nsec / 1_000_000, 3))Z"
        line += " level=\(level) msg=\(quote(msg))"
        for (k, v) in fields {
            let text = "\(v)"
            if !text.isEmpty { line += " \(k)=\(quote(text))" }
        }
        line += "\n"
        fputs(line, stderr)
    }

    private static func quote(_ s: String) -> String {
        if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:@".contains($0) }) { return s }
        return "\"" + escapedForQuotes(s) + "\""
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

/// Backslash, quote and newline escaped, for text inside double quotes (log values, metric labels).
func escapedForQuotes(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        default: out.append(c)
        }
    }
    return out
}
