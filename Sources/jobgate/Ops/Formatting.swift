import Foundation

/// A reply value as one line of human text: strings bare, null as `-`, everything else as compact JSON.
func displayText(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: return "-"
    case let text as String: return text
    case let value?:
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
        else { return String(describing: value) }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Left-aligned text columns and right-aligned numbers, separated by two spaces.
struct TextTable {
    enum Alignment { case left, right }

    let headers: [String]
    let alignments: [Alignment]
    private(set) var rows: [[String]] = []

    init(_ columns: [(String, Alignment)]) {
        headers = columns.map(\.0)
        alignments = columns.map(\.1)
    }

    mutating func add(_ row: [String]) {
        precondition(row.count == headers.count, "a table row needs one cell per column")
        rows.append(row)
    }

    var rendered: String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                if column == row.count - 1 && alignments[column] == .left { return row[column] }  // no trailing spaces
                return alignments[column] == .left ? row[column] + padding : padding + row[column]
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// `12s`, `4m05s`, `3h07m`, `2d04h`: an uptime at a glance.
func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded(.down))
    let (days, hours, minutes, secs) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
    func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    if days > 0 { return "\(days)d\(twoDigits(hours))h" }
    if hours > 0 { return "\(hours)h\(twoDigits(minutes))m" }
    if minutes > 0 { return "\(minutes)m\(twoDigits(secs))s" }
    return "\(secs)s"
}

/// The per-queue counts `stats` gives, as table columns; `rate_limited` (RQ 3.0's line for a
/// rate limit's slots) only when some queue has such jobs, so the usual table stays narrow.
func queueCountColumns(_ queues: [String: Any]) -> [String] {
    let anyRateLimited = queues.values.contains { (($0 as? [String: Any])?["rate_limited"] as? NSNumber)?.intValue ?? 0 > 0 }
    return ["queued", "started", "scheduled", "deferred"] + (anyRateLimited ? ["rate_limited"] : [])
        + ["failed", "finished", "canceled"]
}

/// A `jobs` or `failed` page ends before its `limit` once it holds max_page_bytes of jobs: says where the
/// rest starts.
func printCutShort(_ reply: Reply, offset: Int, limit: Int) {
    guard let next = reply.int("next_offset"), next < offset + limit else { return }
    print("the page ended at its size limit (max_page_bytes); the next one starts at --offset \(next)")
}
