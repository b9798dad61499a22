import Foundation

/// A JSON value, as found in job arguments, `meta`, results and replies.
///
/// Integers that fit in `Int` are kept as ``int(_:)`` so ids and counts survive a round trip
/// exactly; other numbers are ``double(_:)``. Objects are unordered; when a value is written,
/// its keys are sorted so the output is deterministic.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    /// The string, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The number as an `Int`, if this is an integer (or a double with no fractional part).
    public var intValue: Int? {
        switch self {
        case .int(let i): i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: Int(d)
        default: nil
        }
    }
    /// The number as a `Double`, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
    /// The bool, if this is a bool.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    /// The members, if this is an object.
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    /// True for `null`.
    public var isNull: Bool { self == .null }

    /// The member `key` of an object (nil for a missing key or a non-object).
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
    /// The element at `index` of an array (nil when out of range or not an array).
    public subscript(index: Int) -> JSONValue? {
        guard let a = arrayValue, a.indices.contains(index) else { return nil }
        return a[index]
    }

    /// Decodes this value into a `Decodable` type (through its JSON text).
    public func decode<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try RawJSON(self).decode(as: type, decoder: decoder)
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else if let o = try? c.decode([String: JSONValue].self) {
            self = .object(o)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of this value (keys sorted; non-finite doubles written as `null`).
    public var description: String {
        var out: [UInt8] = []
        JSONText.write(self, into: &out, nonFinite: .null)
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON text that is spliced into a request as it is, byte for byte.
///
/// Use it for payloads that are already JSON (from a file, another service, a cache), or to
/// avoid an extra decode. The text is validated once when the value is made. Line breaks
/// between tokens are turned into spaces, because a request must fit on one line (a valid
/// JSON string can never hold a raw line break, so no string content changes).
public struct RawJSON: Sendable, Hashable, CustomStringConvertible {
    /// The JSON text, UTF-8, without line breaks.
    public let bytes: [UInt8]

    /// Validates `text` as JSON.
    public init(validating text: String) throws {
        try self.init(validating: Array(text.utf8))
    }

    /// Validates `bytes` as UTF-8 JSON.
    public init(validating bytes: some Collection<UInt8>) throws {
        var copy = Array(bytes)
        do {
            _ = try JSONDecoder().decode(JSONValue.self, from: Data(copy))
        } catch {
            throw JobgateClientError.invalidArgument("not valid JSON: \(error)")
        }
        for i in copy.indices where copy[i] == UInt8(ascii: "\n") || copy[i] == UInt8(ascii: "\r") {
            copy[i] = UInt8(ascii: " ")
        }
        self.bytes = copy
    }

    /// The JSON text of `value`. Non-finite doubles become `null`.
    public init(_ value: JSONValue) {
        var out: [UInt8] = []
        JSONText.write(value, into: &out, nonFinite: .null)
        self.bytes = out
    }

    /// Encodes `value` with `encoder` (a `JSONEncoder` that does not escape slashes by default).
    public init(encoding value: some Encodable, encoder: JSONEncoder? = nil) throws {
        if let raw = value as? RawJSON {
            self = raw
            return
        }
        if let json = value as? JSONValue {
            self.init(json)
            return
        }
        let encoder = encoder ?? RawJSON.defaultEncoder()
        do {
            let data = try encoder.encode(value)
            // JSONEncoder never writes a raw line break outside of pretty printing, which is
            // whitespace too; validation is not needed, only the line-break rule.
            var copy = [UInt8](data)
            for i in copy.indices where copy[i] == UInt8(ascii: "\n") || copy[i] == UInt8(ascii: "\r") {
                copy[i] = UInt8(ascii: " ")
            }
            self.init(uncheckedBytes: copy)
        } catch {
            throw JobgateClientError.invalidArgument("cannot encode \(type(of: value)) as JSON: \(error)")
        }
    }

    init(uncheckedBytes: [UInt8]) { self.bytes = uncheckedBytes }

    static func defaultEncoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }

    /// The JSON text.
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// The parsed value.
    public func value() throws -> JSONValue { try decode(as: JSONValue.self) }

    /// Decodes the text into `type`.
    public func decode<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: Data(bytes))
    }

    /// The first non-space byte: `[`, `{`, `"`, a digit, `-`, `t`, `f` or `n`.
    var leadingByte: UInt8? {
        bytes.first { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
    }
    var isArray: Bool { leadingByte == UInt8(ascii: "[") }
    var isObject: Bool { leadingByte == UInt8(ascii: "{") }
}

extension RawJSON: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try value().encode(to: encoder)
    }
}

/// Writes compact JSON text.
enum JSONText {
    enum NonFinite { case null, fail }

    static func write(_ value: JSONValue, into out: inout [UInt8], nonFinite: NonFinite) {
        try? writeThrowing(value, into: &out, nonFinite: nonFinite)
    }

    static func writeThrowing(_ value: JSONValue, into out: inout [UInt8], nonFinite: NonFinite) throws {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isFinite {
                number(d, into: &out)
            } else if nonFinite == .null {
                out.append(contentsOf: "null".utf8)
            } else {
                throw JobgateClientError.invalidArgument("JSON has no \(d)")
            }
        case .string(let s): string(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try writeThrowing(v, into: &out, nonFinite: nonFinite)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(key, into: &out)
                out.append(UInt8(ascii: ":"))
                try writeThrowing(o[key]!, into: &out, nonFinite: nonFinite)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A finite double; whole values below 2^53 are written without a fraction.
    static func number(_ d: Double, into out: inout [UInt8]) {
        if d.rounded() == d && abs(d) < 9.0e15 {
            out.append(contentsOf: String(Int(d)).utf8)
        } else {
            out.append(contentsOf: "\(d)".utf8)
        }
    }

    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Builds one request line: a flat JSON object, written field by field.
struct RequestWriter {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true

    init() {}

    init(op: String) {
        string("op", op)
    }

    private mutating func key(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        JSONText.string(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ key: String, _ value: String?) {
        guard let value else { return }
        self.key(key)
        JSONText.string(value, into: &bytes)
    }

    mutating func int(_ key: String, _ value: Int?) {
        guard let value else { return }
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func double(_ key: String, _ value: Double?) throws {
        guard let value else { return }
        guard value.isFinite else { throw JobgateClientError.invalidArgument("field '\(key)' must be a finite number") }
        self.key(key)
        JSONText.number(value, into: &bytes)
    }

    mutating func bool(_ key: String, _ value: Bool?) {
        guard let value else { return }
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func raw(_ key: String, _ value: RawJSON?) {
        guard let value else { return }
        self.key(key)
        bytes.append(contentsOf: value.bytes)
    }

    mutating func json(_ key: String, _ value: JSONValue?) throws {
        guard let value else { return }
        self.key(key)
        try JSONText.writeThrowing(value, into: &bytes, nonFinite: .fail)
    }

    /// The finished object (no line break).
    var object: [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// The finished request line.
    var line: [UInt8] { bytes + [UInt8(ascii: "}"), UInt8(ascii: "\n")] }
}
