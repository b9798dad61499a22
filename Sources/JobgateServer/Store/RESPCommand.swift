/// A Redis command encoded straight to RESP, handed to hiredis as one formatted buffer:
/// no argv arrays, no per-argument allocations.
///
/// The buffer always ends with a NUL byte after the command: hiredis 0.14 reads the formatted
/// command with `strchr` (to find the command name), which would run past an unterminated buffer.
public struct RESPCommand {
    /// The command and its terminating NUL.
    public private(set) var terminated: [UInt8]
    private let expected: Int
    private var written = 0

    public init(argCount: Int, capacity: Int = 256) {
        terminated = []
        terminated.reserveCapacity(capacity + 1)
        expected = argCount
        terminated.append(UInt8(ascii: "*"))
        appendDecimal(argCount)
        terminated.append(0x0D); terminated.append(0x0A)
        terminated.append(0)
    }

    /// The RESP bytes, without the terminator.
    public var bytes: ArraySlice<UInt8> { terminated.dropLast() }

    public mutating func arg(_ b: UnsafeRawBufferPointer) {
        header(b.count)
        terminated.append(contentsOf: b)
        finishArg()
    }

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

    public var isComplete: Bool { written == expected }

    /// Starts an argument: drops the terminator, writes `$<count>\r\n`.
    private mutating func header(_ count: Int) {
        written += 1
        precondition(written <= expected, "more RESP arguments than declared")
        terminated.removeLast()
        terminated.append(UInt8(ascii: "$"))
        appendDecimal(count)
        terminated.append(0x0D); terminated.append(0x0A)
    }

    private mutating func finishArg() {
        terminated.append(0x0D); terminated.append(0x0A)
        terminated.append(0)
    }

    private mutating func appendDecimal(_ v: Int) {
        if v < 10 { terminated.append(UInt8(ascii: "0") + UInt8(v)); return }
        terminated.append(contentsOf: String(v).utf8)
    }
}
