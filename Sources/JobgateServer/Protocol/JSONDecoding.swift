#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns validated spans into Swift values. Only small scalar fields (queue names, ids, numbers)
/// are decoded; payloads stay as bytes.
extension JSONSpan {
    public func bytes(in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[start..<end])
    }

    /// The unescaped UTF-8 contents of a string span.
    public func stringBytes(in buffer: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(kind == .string)
        let inner = UnsafeRawBufferPointer(rebasing: buffer[(start + 1)..<(end - 1)])
        if !escaped { return Array(inner) }
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var i = 0
        var pendingHigh: UInt32? = nil
        func flushHigh() {
            if pendingHigh != nil { appendScalar(0xFFFD, to: &out); pendingHigh = nil }
        }
        while i < inner.count {
            let c = inner[i]
            guard c == UInt8(ascii: "\\") else {
                flushHigh()
                out.append(c)
                i += 1
                continue
            }
            let e = inner[i + 1]
            i += 2
            if e == UInt8(ascii: "u") {
                var unit: UInt32 = 0
                for k in 0..<4 { unit = unit << 4 | UInt32(JSONScanner.hexValue(inner[i + k])!) }
                i += 4
                switch unit {
                case 0xD800...0xDBFF:
                    flushHigh()
                    pendingHigh = unit
                case 0xDC00...0xDFFF:
                    if let high = pendingHigh {
                        appendScalar(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00), to: &out)
                        pendingHigh = nil
                    } else {
                        appendScalar(0xFFFD, to: &out)
                    }
                default:
                    flushHigh()
                    appendScalar(unit, to: &out)
                }
                continue
            }
            flushHigh()
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            default: out.append(e)  // \" \\ \/
            }
        }
        flushHigh()
        return out
    }

    public func string(in buffer: UnsafeRawBufferPointer) -> String {
        String(decoding: stringBytes(in: buffer), as: UTF8.self)
    }

    /// The value of a number span as a Double (JSON numbers beyond Double's range become ±inf).
    public func double(in buffer: UnsafeRawBufferPointer) -> Double {
        precondition(kind == .number)
        let digits = bytes(in: buffer)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: digits.count + 1) { tmp in
            for (i, b) in digits.enumerated() { tmp[i] = CChar(bitPattern: b) }
            tmp[digits.count] = 0
            return strtod(tmp.baseAddress!, nil)
        }
    }

    /// True when the key span equals `name` (keys are compared after unescaping).
    public func isKey(_ name: StaticString, in buffer: UnsafeRawBufferPointer) -> Bool {
        let n = name.utf8CodeUnitCount
        if escaped {
            let s = stringBytes(in: buffer)
            return s.count == n && s.withUnsafeBufferPointer { memcmp($0.baseAddress!, name.utf8Start, n) == 0 }
        }
        guard end - start - 2 == n else { return false }
        return memcmp(buffer.baseAddress! + start + 1, name.utf8Start, n) == 0
    }
}

private func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
    let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
    out.append(contentsOf: UTF8.encode(scalar)!)
}
