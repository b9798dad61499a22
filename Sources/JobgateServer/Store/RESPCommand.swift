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

/// A Redis command encoded straight to RESP, handed to hiredis as one formatted buffer:
/// no argv arrays, no per-argument allocations.
///
/// The buffer always ends with a NUL byte after the command: hiredis 0.14 reads the formatted
/// command with `strchr` (to find the command name), which would run past an unterminated buffer.
public struct RESPCommand: RESPArguments, Sendable {
    /// The command and its terminating NUL.
    public private(set) var terminated: [UInt8]
    private let expected: Int
    private var written = 0

    public init(argCount: Int, capacity: Int = 256) {
        terminated = []
        terminated.reserveCapacity(capacity + 1)
        expected = argCount
        terminated.append(UInt8(ascii: "*"))
        appendDecimal(argCount, to: &terminated)
        terminated.append(0x0D); terminated.append(0x0A)
        terminated.append(0)
    }

    /// The RESP bytes, without the terminator.
    public var bytes: ArraySlice<UInt8> { terminated.dropLast() }

    public mutating func arg(_ b: UnsafeRawBufferPointer) {
        count(1)
        terminated.removeLast()
        appendBulk(b, to: &terminated)
        terminated.append(0)
    }

    /// Appends arguments encoded earlier (a batch's), as if each had been passed to `arg`.
    public mutating func append(_ block: RESPArgs) {
        count(block.count)
        terminated.removeLast()
        terminated.append(contentsOf: block.bytes)
        terminated.append(0)
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
