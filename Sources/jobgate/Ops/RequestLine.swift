/// One request, written as a single JSON line by hand so that JSON the user typed (arguments,
/// `--meta`, `--kwargs`) reaches the gateway byte for byte, which re-encoding it would not do.
struct RequestLine {
    private var members: [String] = []

    init(op: String) {
        set("op", string: op)
    }

    mutating func set(_ key: String, string: String) {
        set(key, rawJSON: jsonQuoted(string))
    }

    mutating func set(_ key: String, int: Int) {
        set(key, rawJSON: String(int))
    }

    mutating func set(_ key: String, bool: Bool) {
        set(key, rawJSON: bool ? "true" : "false")
    }

    mutating func set(_ key: String, strings: [String]) {
        set(key, rawJSON: "[" + strings.map(jsonQuoted).joined(separator: ",") + "]")
    }

    /// `text` must already be valid JSON (see `JSONSyntax`).
    mutating func set(_ key: String, rawJSON text: String) {
        members.append(jsonQuoted(key) + ":" + onOneLine(text))
    }

    var text: String { "{" + members.joined(separator: ",") + "}" }
}

/// Valid JSON holds line breaks only as whitespace between tokens (never inside strings), so
/// turning them into spaces keeps pretty-printed input from splitting the request line.
private func onOneLine(_ json: String) -> String {
    guard json.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else { return json }
    return String(decoding: json.utf8.map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? UInt8(ascii: " ") : $0 },
                  as: UTF8.self)
}

func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// A strict RFC 8259 check of text the user gave as JSON. Foundation's parser accepts things
/// such as `[1,]` that the gateway rejects, and "JSON when valid, else a string" must agree with
/// the gateway about what is valid.
enum JSONSyntax {
    enum Kind { case object, array, string, number, boolean, null }

    /// The kind of the single JSON value `text` holds, or nil when it is not exactly one valid value.
    static func kind(of text: String) -> Kind? {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.skipWhitespace()
        guard let kind = scanner.value(depth: 0) else { return nil }
        scanner.skipWhitespace()
        return scanner.atEnd ? kind : nil
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        /// Bounds recursion on hostile input; the gateway's own limit (64) is far below it.
        static let maximumDepth = 512

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }
        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard current == byte else { return false }
            index += 1
            return true
        }

        mutating func value(depth: Int) -> Kind? {
            guard depth < Self.maximumDepth, let byte = current else { return nil }
            switch byte {
            case UInt8(ascii: "{"): return object(depth: depth) ? .object : nil
            case UInt8(ascii: "["): return array(depth: depth) ? .array : nil
            case UInt8(ascii: "\""): return string() ? .string : nil
            case UInt8(ascii: "t"): return literal("true") ? .boolean : nil
            case UInt8(ascii: "f"): return literal("false") ? .boolean : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default: return number() ? .number : nil
            }
        }

        mutating func object(depth: Int) -> Bool {
            index += 1
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { return true }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\""), string() else { return false }
                skipWhitespace()
                guard consume(UInt8(ascii: ":")) else { return false }
                skipWhitespace()
                guard value(depth: depth + 1) != nil else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: "}")) { return true }
                guard consume(UInt8(ascii: ",")) else { return false }
            }
        }

        mutating func array(depth: Int) -> Bool {
            index += 1
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return true }
            while true {
                skipWhitespace()
                guard value(depth: depth + 1) != nil else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: "]")) { return true }
                guard consume(UInt8(ascii: ",")) else { return false }
            }
        }

        mutating func string() -> Bool {
            index += 1
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return true
                case UInt8(ascii: "\\"):
                    guard let escaped = current else { return false }
                    index += 1
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            guard let hex = current, isHexDigit(hex) else { return false }
                            index += 1
                        }
                    } else if !Array("\"\\/bfnrt".utf8).contains(escaped) {
                        return false
                    }
                case ..<0x20:
                    return false
                default:
                    continue
                }
            }
            return false
        }

        mutating func literal(_ word: String) -> Bool {
            for expected in word.utf8 {
                guard consume(expected) else { return false }
            }
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`
        mutating func number() -> Bool {
            _ = consume(UInt8(ascii: "-"))
            if consume(UInt8(ascii: "0")) {
                // no leading zeros
            } else {
                guard digits() else { return false }
            }
            if consume(UInt8(ascii: ".")) {
                guard digits() else { return false }
            }
            if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                guard digits() else { return false }
            }
            return true
        }

        /// One or more decimal digits.
        mutating func digits() -> Bool {
            let start = index
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            return index > start
        }

        func isHexDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }
}
