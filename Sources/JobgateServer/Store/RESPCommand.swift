/// A Redis command encoded straight to RESP, handed to hiredis as one formatted buffer:
/// no argv arrays, no per-argument allocations.
public struct RESPCommand {
    public private(set) var bytes: [UInt8]
    private let expected: Int
    private var written = 0

    public init(argCount: Int, capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        expected = argCount
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(argCount)
        bytes.append(0x0D); bytes.append(0x0A)
    }

    public mutating func arg(_ b: UnsafeRawBufferPointer) {
        header(b.count)
        bytes.append(contentsOf: b)
        bytes.append(0x0D); bytes.append(0x0A)
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

    /// An argument whose bytes are produced in place (e.g. compressed data).
    public mutating func arg(length: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        header(length)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: length))
        bytes.withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[start..<(start + length)])) }
        bytes.append(0x0D); bytes.append(0x0A)
    }

    public var isComplete: Bool { written == expected }

    private mutating func header(_ count: Int) {
        written += 1
        precondition(written <= expected, "more RESP arguments than declared")
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(count)
        bytes.append(0x0D); bytes.append(0x0A)
    }

    private mutating func appendDecimal(_ v: Int) {
        if v < 10 { bytes.append(UInt8(ascii: "0") + UInt8(v)); return }
        bytes.append(contentsOf: String(v).utf8)
    }
}
