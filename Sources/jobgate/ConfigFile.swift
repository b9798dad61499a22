import ArgumentParser
@preconcurrency import Glibc

/// A value from the config file: the TOML subset jobgate's settings need.
enum ConfigValue: Equatable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case strings([String])
}

/// One `[[name]]` table of an array of tables (a `[[schedule]]`), with its `key = value` lines.
struct ConfigTable {
    let name: String
    /// `FILE:LINE` of its header, for messages.
    let origin: String
    var values: [String: ConfigValue] = [:]
}

/// Reads `key = value` lines (a subset of TOML): strings in double quotes (or single quotes,
/// TOML's literal strings, without escapes), integers, booleans, one-line arrays of strings,
/// `#` comments, and arrays of tables (`[[schedule]]`), whose lines are theirs up to the next
/// header. Keys are the long flag names (`max-connections`); `max_connections` is accepted too.
enum ConfigFile {
    /// The settings: the lines before the first table.
    static func load(_ path: String) throws -> [String: ConfigValue] { try read(path).settings }

    static func tables(_ path: String) throws -> [ConfigTable] { try read(path).tables }

    private static func read(_ path: String) throws -> (settings: [String: ConfigValue], tables: [ConfigTable]) {
        guard let text = readWholeFile(path) else {
            throw ValidationError("cannot read config file \(path)")
        }
        return try parse(text, name: path)
    }

    static func parse(_ text: String, name: String) throws -> (settings: [String: ConfigValue], tables: [ConfigTable]) {
        var settings: [String: ConfigValue] = [:]
        var tables: [ConfigTable] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(Substring(raw)).trimmed
            if line.isEmpty { continue }
            func fail(_ why: String) -> ValidationError { ValidationError("\(name):\(n + 1): \(why)") }
            if line.hasPrefix("[") {
                guard line.hasPrefix("[["), line.hasSuffix("]]"), line.count > 4 else {
                    throw fail("expected a table header like [[schedule]] (plain [tables] are not supported)")
                }
                tables.append(ConfigTable(name: String(line.dropFirst(2).dropLast(2).trimmed), origin: "\(name):\(n + 1)"))
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected key = value") }
            let key = line[..<eq].trimmed.replacingUnderscores
            let valueText = line[line.index(after: eq)...].trimmed
            guard !key.isEmpty else { throw fail("missing key") }
            guard (tables.last?.values ?? settings)[key] == nil else { throw fail("'\(key)' is set twice") }
            guard let value = parseValue(valueText) else { throw fail("cannot read the value of '\(key)'") }
            if tables.isEmpty { settings[key] = value } else { tables[tables.count - 1].values[key] = value }
        }
        return (settings, tables)
    }

    private static func parseValue(_ s: Substring) -> ConfigValue? {
        if s == "true" { return .bool(true) }
        if s == "false" { return .bool(false) }
        if let n = Int(s.filter { $0 != "_" }) { return .integer(n) }
        if s.hasPrefix("\"") { return parseString(s).flatMap { $0.rest.trimmed.isEmpty ? .string($0.value) : nil } }
        if s.count >= 2, s.hasPrefix("'"), s.hasSuffix("'"), !s.dropFirst().dropLast().contains("'") {
            return .string(String(s.dropFirst().dropLast()))
        }
        if s.hasPrefix("[") && s.hasSuffix("]") {
            var rest = s.dropFirst().dropLast().trimmed
            var items: [String] = []
            while !rest.isEmpty {
                guard let (item, after) = parseString(rest) else { return nil }
                items.append(item)
                rest = after.trimmed
                if rest.hasPrefix(",") { rest = rest.dropFirst().trimmed } else if !rest.isEmpty { return nil }
            }
            return .strings(items)
        }
        return nil
    }

    /// A double-quoted string with \" \\ \n \t escapes, and what follows it.
    private static func parseString(_ s: Substring) -> (value: String, rest: Substring)? {
        guard s.first == "\"" else { return nil }
        var out = ""
        var i = s.index(after: s.startIndex)
        while i < s.endIndex {
            let c = s[i]
            if c == "\"" { return (out, s[s.index(after: i)...]) }
            if c == "\\" {
                i = s.index(after: i)
                guard i < s.endIndex else { return nil }
                switch s[i] {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"", "\\": out.append(s[i])
                default: return nil
                }
            } else {
                out.append(c)
            }
            i = s.index(after: i)
        }
        return nil
    }

    private static func stripComment(_ s: Substring) -> Substring {
        var quote: Character? = nil
        var escaped = false
        for i in s.indices {
            let c = s[i]
            if escaped { escaped = false; continue }
            if c == "\\" && quote == "\"" { escaped = true; continue }
            if c == "\"" && quote != "'" { quote = quote == nil ? "\"" : nil }
            if c == "'" && quote != "\"" { quote = quote == nil ? "'" : nil }
            if c == "#" && quote == nil { return s[..<i] }
        }
        return s
    }
}

private extension Substring {
    var trimmed: Substring {
        var s = self
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return s
    }

    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// A whole (small) file as UTF-8 text; nil when it cannot be read.
func readWholeFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        bytes.append(contentsOf: chunk[..<n])
        if bytes.count > 1 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}
