/// One parsed request line: the top-level members of a JSON object, located but not decoded.
/// Valid only while the line's bytes are (the op handler copies what outlives it).
public struct Request {
    public let line: UnsafeRawBufferPointer
    private var keys: [JSONSpan] = []
    private var values: [JSONSpan] = []
    private var used: UInt64 = 0
    /// Nil when the request has no string `op` (the dispatcher answers `opProblem`, with `ref`).
    public private(set) var op: String? = nil
    /// What is wrong with `op` when it is nil.
    public private(set) var opProblem = OpError.bad("missing field 'op' (the operation, e.g. \"enqueue\")")
    public private(set) var ref: JSONSpan? = nil

    static let maxFields = 64

    public init(line: UnsafeRawBufferPointer) throws(OpError) {
        self.line = line
        do {
            try JSONScanner.scanObject(line) { k, v in
                keys.append(k)
                values.append(v)
            }
        } catch let error as JSONSyntaxError {
            throw OpError.bad("malformed JSON at byte \(error.offset): \(error.reason)")
        } catch {
            throw OpError(.internal, "\(error)")
        }
        guard keys.count <= Request.maxFields else { throw OpError.bad("more than \(Request.maxFields) fields") }
        if let r = find("ref") { ref = values[r]; used |= 1 << r }
        if let o = find("op") {
            if values[o].kind == .string {
                used |= 1 << o
                op = values[o].string(in: line)
            } else {
                opProblem = wrongKind("op", [.string], values[o].kind)
            }
        }
    }

    /// The members of an object nested in a request (a batch item), read with the same rules.
    public init(object: JSONSpan, in line: UnsafeRawBufferPointer) throws(OpError) {
        precondition(object.kind == .object)
        self.line = line
        do {
            try JSONScanner.members(of: object, in: line) { k, v in
                keys.append(k)
                values.append(v)
            }
        } catch {
            throw OpError(.internal, "\(error)")
        }
        guard keys.count <= Request.maxFields else { throw OpError.bad("more than \(Request.maxFields) fields") }
    }

    private func find(_ name: StaticString) -> Int? {
        for i in keys.indices where keys[i].isKey(name, in: line) { return i }
        return nil
    }

    /// Whether the field is there at all, null included (for fields an op does not take).
    public func has(_ name: StaticString) -> Bool { find(name) != nil }

    /// The span of a field of the given kind; null counts as absent.
    public mutating func spanIfPresent(_ name: StaticString, _ kinds: JSONKind...) throws(OpError) -> JSONSpan? {
        guard let i = find(name) else { return nil }
        used |= 1 << i
        let v = values[i]
        if v.kind == .null { return nil }
        if kinds.contains(v.kind) { return v }
        throw wrongKind(name, kinds, v.kind)
    }

    public mutating func string(_ name: StaticString) throws(OpError) -> String? {
        try spanIfPresent(name, .string)?.string(in: line)
    }

    public mutating func requiredString(_ name: StaticString) throws(OpError) -> String {
        guard let s = try string(name) else { throw OpError.bad("missing field '\(name)'") }
        return s
    }

    public mutating func number(_ name: StaticString) throws(OpError) -> Double? {
        guard let span = try spanIfPresent(name, .number) else { return nil }
        let v = span.double(in: line)
        guard v.isFinite else { throw OpError.bad("field '\(name)' is out of range") }
        return v
    }

    public mutating func number(_ name: StaticString, in range: ClosedRange<Double>) throws(OpError) -> Double? {
        guard let v = try number(name) else { return nil }
        guard range.contains(v) else {
            throw OpError.bad("field '\(name)' must be between \(plainNumber(range.lowerBound)) and \(plainNumber(range.upperBound))")
        }
        return v
    }

    public mutating func integer(_ name: StaticString, in range: ClosedRange<Int>) throws(OpError) -> Int? {
        guard let v = try number(name) else { return nil }
        guard v == v.rounded(), v >= Double(range.lowerBound), v <= Double(range.upperBound) else {
            throw OpError.bad("field '\(name)' must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return Int(v)
    }

    public mutating func bool(_ name: StaticString) throws(OpError) -> Bool? {
        guard let span = try spanIfPresent(name, .true, .false) else { return nil }
        return span.kind == .true
    }

    /// A field's JSON text as sent, for payloads carried without decoding.
    public mutating func raw(_ name: StaticString, _ kinds: JSONKind...) throws(OpError) -> UnsafeRawBufferPointer? {
        guard let i = find(name) else { return nil }
        used |= 1 << i
        let v = values[i]
        if kinds.isEmpty || kinds.contains(v.kind) { return v.bytes(in: line) }
        if v.kind == .null { return nil }
        throw wrongKind(name, kinds, v.kind)
    }

    /// Rejects members no handler asked for: a misspelt option must not be silently ignored.
    public func rejectUnknownFields() throws(OpError) {
        for i in keys.indices where used & (1 << i) == 0 {
            let name = keys[i].string(in: line)
            if keys[..<i].contains(where: { $0.string(in: line) == name }) {
                throw OpError.bad("field '\(name)' appears more than once")
            }
            // Batch items have no op of their own; their errors are prefixed with `jobs[i]`.
            throw OpError.bad("field '\(name)' is unknown" + (op.map { " for op '\($0)'" } ?? ""))
        }
    }
}

private func wrongKind(_ name: StaticString, _ kinds: [JSONKind], _ got: JSONKind) -> OpError {
    var names: [String] = []
    for k in kinds where !names.contains(k.name) { names.append(k.name) }
    return OpError.bad("field '\(name)' must be \(names.joined(separator: " or ")), not \(got.name)")
}
