/// INTERNAL answers (an error from Redis nothing expects, or a bug) in the log, where an operator
/// looks first: the op and Redis's words, at most one line a second, with how many were left out.
struct InternalErrorLog {
    private var lastMs: UInt64?
    private var leftOut = 0

    mutating func report(_ error: OpError, op: String, nowMs: UInt64) {
        if let lastMs, nowMs - lastMs < 1000 {
            leftOut += 1
            return
        }
        Log.error("request failed with INTERNAL", ["op": op, "error": error.message, "not_logged_since": leftOut])
        lastMs = nowMs
        leftOut = 0
    }
}
