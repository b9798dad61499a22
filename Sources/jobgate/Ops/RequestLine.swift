import JobgateServer

/// One request line, written with the gateway's own `JSONWriter` so that JSON the user typed
/// (arguments, `--meta`, `--kwargs`) reaches the gateway byte for byte, which re-encoding it
/// would not do.
struct RequestLine {
    private var writer = JSONWriter()

    init(op: String) {
        self.init(first: "op", string: op)
    }

    /// An object whose first member is `key` (a request's is always `op`).
    init(first key: StaticString, string: String) {
        writer.raw("{\"")
        writer.raw(key)
        writer.raw("\":")
        writer.string(string)
    }

    mutating func set(_ key: StaticString, string: String) {
        set(key, .string(string))
    }

    mutating func set(_ key: StaticString, int: Int) {
        writer.key(key)
        writer.int(int)
    }

    mutating func set(_ key: StaticString, bool: Bool) {
        writer.key(key)
        writer.bool(bool)
    }

    /// A string, or JSON the user typed, passed on as it is.
    enum Value {
        case string(String)
        /// Must already be valid JSON (see `JSONScanner.kind(of:)`).
        case rawJSON(String)
    }

    mutating func set(_ key: StaticString, _ value: Value) {
        writer.key(key)
        write(value)
    }

    mutating func set(_ key: StaticString, array: [Value]) {
        writer.key(key)
        writer.raw("[")
        for (index, value) in array.enumerated() {
            if index > 0 { writer.raw(",") }
            write(value)
        }
        writer.raw("]")
    }

    private mutating func write(_ value: Value) {
        switch value {
        case .string(let text): writer.string(text)
        case .rawJSON(let text): writer.raw(onOneLine(text))
        }
    }

    /// The line without its newline.
    var bytes: [UInt8] { writer.bytes + [UInt8(ascii: "}")] }
}

/// Valid JSON holds line breaks only as whitespace between tokens (never inside strings), so
/// turning them into spaces keeps pretty-printed input from splitting the request line.
private func onOneLine(_ json: String) -> [UInt8] {
    json.utf8.map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? UInt8(ascii: " ") : $0 }
}

extension JSONScanner {
    /// The kind of the single JSON value `text` holds, or nil when it is not exactly one valid
    /// value: the gateway's own judgement, so "JSON when valid, else a string" agrees with it.
    static func kind(of text: String) -> JSONKind? {
        var text = text
        return text.withUTF8 { try? JSONScanner.validate(UnsafeRawBufferPointer($0)).kind }
    }
}
