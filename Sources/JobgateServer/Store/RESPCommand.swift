/// Something RESP bulk-string arguments are appended to. The overloads below encode each kind
/// of value once, for whole commands and for batches of arguments alike.
public protocol RESPArguments {
    mutating func arg(_ b: UnsafeRawBufferPointer)
}

extension RESPArguments {
    public mutating func arg(_ b: [UInt8]) { b.withUnsafeBytes { arg($0) } }

    public mutating func arg(_ s: String) {
        var s = s
        s.withUTF8 { arg(UnsafeRawBufferPointer($0)) }
    }

    public mutating func arg(_ s: StaticString) {
        arg(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func arg(_ v: Int) { arg(String(v)) }

    /// An optional value; absent is sent as the empty string, which scripts read as "unset".
    public mutating func arg(_ s: String?) { arg(s ?? "") }
}

/// A Redis command encoded straight to RESP, written to the connection as it is: no argv
/// arrays, no per-argument allocations.
public struct RESPCommand: RESPArguments, Sendable {
    public private(set) var bytes: [UInt8]
    private let expected: Int
    private var written = 0

    public init(argCount: Int, capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        expected = argCount
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(argCount, to: &bytes)
        bytes.append(0x0D); bytes.append(0x0A)
    }

    /// A command of plain words, e.g. `["PING"]`.
    public init(_ words: [String]) {
        self.init(argCount: words.count)
        for word in words { arg(word) }
    }

    public mutating func arg(_ b: UnsafeRawBufferPointer) {
        count(1)
        appendBulk(b, to: &bytes)
    }

    /// Appends arguments encoded earlier (a batch's), as if each had been passed to `arg`.
    public mutating func append(_ block: RESPArgs) {
        count(block.count)
        bytes.append(contentsOf: block.bytes)
    }

    public var isComplete: Bool { written == expected }

    private mutating func count(_ n: Int) {
        written += n
        precondition(written <= expected, "more RESP arguments than declared")
    }
}

/// Arguments encoded to RESP without a command around them: what a batch of ops accumulates
/// before the command's total argument count is known.
public struct RESPArgs: RESPArguments, Sendable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var count = 0
    /// Where the arguments of the op being added began (see `put`).
    var opStart = 0

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func arg(_ b: UnsafeRawBufferPointer) {
        count += 1
        appendBulk(b, to: &bytes)
    }
}

/// `$<length>\r\n<bytes>\r\n`
private func appendBulk(_ b: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "$"))
    appendDecimal(b.count, to: &out)
    out.append(0x0D); out.append(0x0A)
    out.append(contentsOf: b)
    out.append(0x0D); out.append(0x0A)
}

private func appendDecimal(_ v: Int, to out: inout [UInt8]) {
    if v >= 0 && v < 10 { out.append(UInt8(ascii: "0") + UInt8(v)); return }
    out.append(contentsOf: String(v).utf8)
}
