/// A strict RFC 8259 validator that reports where values are instead of building trees.
///
/// The hot path only needs to know that a request is valid JSON and where each top-level
/// member's value lies, so `args`, `kwargs`, `meta` and `result` travel on as the client's own
/// bytes. Strings are checked for escapes, control characters and UTF-8 well-formedness so
/// that whatever we store is readable by Python's `json.loads` (RQ's JSON serializer).
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null

    public var name: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .true, .false: "a boolean"
        case .null: "null"
        }
    }
}

public struct JSONSyntaxError: Error, Equatable, Sendable {
    public let offset: Int
    public let reason: String
}

/// A value's byte range inside the scanned buffer, quotes included for strings.
public struct JSONSpan: Equatable, Sendable {
    public var kind: JSONKind
    public var start: Int
    public var end: Int
    /// True when a string span holds at least one backslash escape.
    public var escaped: Bool
}

public struct JSONScanner {
    public static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var pos: Int

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.pos = 0
    }

    /// Validates that the whole buffer is one JSON object and calls `member` with each key span
    /// and value span, in order.
    public static func scanObject(
        _ bytes: UnsafeRawBufferPointer,
        member: (_ key: JSONSpan, _ value: JSONSpan) throws -> Void
    ) throws {
        try scanWhole(bytes, opening: UInt8(ascii: "{"), otherwise: "a request must be a JSON object") {
            try $0.members(depth: 1, member: member)
        }
    }

    /// Validates that the whole buffer is one JSON array and calls `element` with each element.
    public static func scanArray(_ bytes: UnsafeRawBufferPointer, element: (JSONSpan) throws -> Void) throws {
        try scanWhole(bytes, opening: UInt8(ascii: "["), otherwise: "expected a JSON array") {
            try $0.elements(depth: 1, element: element)
        }
    }

    /// Runs `contents` on a buffer that must hold one value starting with `opening`, and
    /// nothing after it but whitespace.
    @inline(__always)
    private static func scanWhole(_ bytes: UnsafeRawBufferPointer, opening: UInt8, otherwise reason: String,
                                  _ contents: (inout JSONScanner) throws -> Void) throws {
        var scanner = JSONScanner(bytes)
        scanner.skipSpace()
        guard scanner.peek() == opening else { throw JSONSyntaxError(offset: scanner.pos, reason: reason) }
        try contents(&scanner)
        try scanner.expectEnd()
    }

    /// Validates that the whole buffer is exactly one JSON value and returns its span.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws -> JSONSpan {
        var scanner = JSONScanner(bytes)
        let span = try scanner.value(depth: 0)
        try scanner.expectEnd()
        return span
    }

    /// Calls `element` for each element of an array span from a buffer this scanner validated.
    public static func elements(of span: JSONSpan, in bytes: UnsafeRawBufferPointer, element: (JSONSpan) throws -> Void) throws {
        var scanner = JSONScanner(bytes)
        scanner.pos = span.start
        try scanner.elements(depth: 1, element: element)
    }

    /// Calls `member` for each member of an object span from a buffer this scanner validated.
    public static func members(of span: JSONSpan, in bytes: UnsafeRawBufferPointer, member: (JSONSpan, JSONSpan) throws -> Void) throws {
        var scanner = JSONScanner(bytes)
        scanner.pos = span.start
        try scanner.members(depth: 1, member: member)
    }

    // MARK: - Grammar

    private mutating func expectEnd() throws {
        skipSpace()
        if pos != bytes.count { throw fail("unexpected data after the JSON value") }
    }

    private mutating func value(depth: Int) throws -> JSONSpan {
        skipSpace()
        let start = pos
        guard let c = peek() else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"):
            try members(depth: depth + 1) { _, _ in }
            return JSONSpan(kind: .object, start: start, end: pos, escaped: false)
        case UInt8(ascii: "["):
            try elements(depth: depth + 1) { _ in }
            return JSONSpan(kind: .array, start: start, end: pos, escaped: false)
        case UInt8(ascii: "\""):
            let escaped = try string()
            return JSONSpan(kind: .string, start: start, end: pos, escaped: escaped)
        case UInt8(ascii: "t"):
            try literal("true")
            return JSONSpan(kind: .true, start: start, end: pos, escaped: false)
        case UInt8(ascii: "f"):
            try literal("false")
            return JSONSpan(kind: .false, start: start, end: pos, escaped: false)
        case UInt8(ascii: "n"):
            try literal("null")
            return JSONSpan(kind: .null, start: start, end: pos, escaped: false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            return JSONSpan(kind: .number, start: start, end: pos, escaped: false)
        default:
            throw fail("unexpected character")
        }
    }

    private mutating func members(depth: Int, member: (JSONSpan, JSONSpan) throws -> Void) throws {
        guard depth <= JSONScanner.maxDepth else { throw fail("nesting deeper than \(JSONScanner.maxDepth)") }
        pos += 1  // {
        skipSpace()
        if peek() == UInt8(ascii: "}") { pos += 1; return }
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyStart = pos
            let keyEscaped = try string()
            let key = JSONSpan(kind: .string, start: keyStart, end: pos, escaped: keyEscaped)
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
            pos += 1
            let v = try value(depth: depth)
            try member(key, v)
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    private mutating func elements(depth: Int, element: (JSONSpan) throws -> Void) throws {
        guard depth <= JSONScanner.maxDepth else { throw fail("nesting deeper than \(JSONScanner.maxDepth)") }
        pos += 1  // [
        skipSpace()
        if peek() == UInt8(ascii: "]") { pos += 1; return }
        while true {
            let v = try value(depth: depth)
            try element(v)
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "]"): pos += 1; return
            default: throw fail("expected ',' or ']'")
            }
        }
    }

    /// Scans a string starting at its opening quote; returns whether it holds escapes.
    private mutating func string() throws -> Bool {
        pos += 1
        var escaped = false
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; return escaped }
            if c == UInt8(ascii: "\\") {
                escaped = true
                pos += 1
                guard let e = peek() else { break }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    pos += 1
                case UInt8(ascii: "u"):
                    pos += 1
                    for _ in 0..<4 {
                        guard let h = peek(), JSONScanner.hexValue(h) != nil else { throw fail("bad \\u escape") }
                        pos += 1
                    }
                default:
                    throw fail("bad escape")
                }
            } else if c < 0x20 {
                throw fail("control character in string")
            } else if c < 0x80 {
                pos += 1
            } else {
                try utf8Sequence(lead: c)
            }
        }
        throw fail("unterminated string")
    }

    private mutating func utf8Sequence(lead: UInt8) throws {
        // Ranges from the Unicode standard's table of well-formed byte sequences.
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        let trailing: Int
        switch lead {
        case 0xC2...0xDF: trailing = 1
        case 0xE0: trailing = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
        case 0xED: trailing = 2; high = 0x9F
        case 0xF0: trailing = 3; low = 0x90
        case 0xF1...0xF3: trailing = 3
        case 0xF4: trailing = 3; high = 0x8F
        default: throw fail("invalid UTF-8")
        }
        pos += 1
        for i in 0..<trailing {
            guard let b = peek() else { throw fail("invalid UTF-8") }
            let ok = i == 0 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF)
            guard ok else { throw fail("invalid UTF-8") }
            pos += 1
        }
    }

    private mutating func number() throws {
        if peek() == UInt8(ascii: "-") { pos += 1 }
        guard let first = peek(), isDigit(first) else { throw fail("bad number") }
        pos += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if peek() == UInt8(ascii: ".") {
            pos += 1
            guard let d = peek(), isDigit(d) else { throw fail("bad number") }
            skipDigits()
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            pos += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
            guard let d = peek(), isDigit(d) else { throw fail("bad number") }
            skipDigits()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw fail("unexpected end of input") }
        let w = word.utf8Start
        for i in 0..<n where bytes[pos + i] != w[i] { throw fail("unexpected character") }
        pos += n
    }

    private mutating func skipDigits() {
        while let c = peek(), isDigit(c) { pos += 1 }
    }

    private mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private func peek() -> UInt8? { pos < bytes.count ? bytes[pos] : nil }
    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private func fail(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: pos, reason: reason) }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
