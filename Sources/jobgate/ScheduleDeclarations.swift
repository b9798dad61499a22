import ArgumentParser
import JobgateServer

/// The `[[schedule]]` tables of a config file, as `schedule` request lines that the gateway
/// stores once Redis answers (changing nothing for a schedule already stored as declared). The
/// gateway checks each one as it checks the op, so a bad one is refused with the op's own
/// message, prefixed with the table's `FILE:LINE`.
///
/// `name`, `cron`, `every` and `tz` are the schedule's; every other key is a field of its job:
/// `args`, `kwargs`, `meta` and `retry_intervals` hold JSON text, any other string is a string,
/// and integers, booleans and arrays of strings are themselves.
enum ScheduleDeclarations {
    private static let scheduleKeys: [String] = ["name", "cron", "every", "tz"]
    private static let jsonKeys: Set<String> = ["args", "kwargs", "meta", "retry-intervals"]

    static func load(configFile path: String?) throws -> [DeclaredSchedule] {
        guard let path else { return [] }
        return try ConfigFile.tables(path).map { table in
            guard table.name == "schedule" else {
                throw ValidationError("\(table.origin): unknown table [[\(table.name)]] (the config file has only [[schedule]] tables)")
            }
            return DeclaredSchedule(origin: table.origin, request: try request(table))
        }
    }

    /// Runs the gateway's own checks without serving: a `Server` checks its declared schedules
    /// when it is made, and connects to nothing until it runs.
    static func check(_ schedules: [DeclaredSchedule]) throws {
        var config = ServerConfig(redis: RedisEndpoint(server: .unix(path: "/dev/null")))
        config.schedules = schedules
        _ = try Server(config: config)
    }

    private static func request(_ table: ConfigTable) throws -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"op\":\"schedule\"")
        for key in scheduleKeys {
            guard let value = table.values[key] else { continue }
            w.raw(","); w.string(key); w.raw(":")
            try write(value, key: key, table, &w)
        }
        w.raw(",\"job\":{")
        for (i, key) in table.values.keys.sorted().filter({ !scheduleKeys.contains($0) }).enumerated() {
            if i > 0 { w.raw(",") }
            // Keys were read with `-` for `_`; job fields are spelt with `_`.
            w.string(String(key.map { $0 == "-" ? "_" : $0 })); w.raw(":")
            try write(table.values[key]!, key: key, table, &w)
        }
        w.raw("}}")
        return w.bytes
    }

    private static func write(_ value: ConfigValue, key: String, _ table: ConfigTable, _ w: inout JSONWriter) throws {
        switch value {
        case .string(let text) where jsonKeys.contains(key):
            guard JSONScanner.kind(of: text) != nil else {
                throw ValidationError("\(table.origin): '\(key)' must be JSON text, e.g. \(key) = '[\"daily\", 3]'")
            }
            w.raw(Array(text.utf8.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 }))
        case .string(let text): w.string(text)
        case .integer(let n): w.int(n)
        case .bool(let b): w.bool(b)
        case .strings(let list):
            w.raw("[")
            for (i, item) in list.enumerated() {
                if i > 0 { w.raw(",") }
                w.string(item)
            }
            w.raw("]")
        }
    }
}
