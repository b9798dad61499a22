/// Appends JSON text to a byte buffer without building a tree. Each reply is written into
/// its own writer and handed to its session whole, which sends replies in request order; the
/// web console and the command-line tools write their JSON with it too.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inlinable public mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    @inlinable public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// Writes `,"name":` — every reply starts with `{"ok":...` so members always follow a comma.
    @inlinable public mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }

    public mutating func string(_ utf8: [UInt8]) {
        utf8.withUnsafeBytes { string($0) }
    }

    /// Writes a JSON string from UTF-8 bytes, escaping what JSON requires. Invalid UTF-8 is
    /// replaced so a reply is always valid JSON.
    public mutating func string(_ utf8: UnsafeRawBufferPointer) {
        let open = bytes.count
        bytes.append(UInt8(ascii: "\""))
        var needsRepair = false
        for c in utf8 {
            switch c {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(JSONWriter.hex[Int(c >> 4)])
                bytes.append(JSONWriter.hex[Int(c & 0xF)])
            default:
                if c >= 0x80 { needsRepair = true }
                bytes.append(c)
            }
        }
        if needsRepair { repairUTF8(bodyStart: open + 1) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int(_ v: Int) {
        if v == 0 { bytes.append(UInt8(ascii: "0")); return }
        var n = v.magnitude
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var len = 0
        withUnsafeMutableBytes(of: &tmp) { t in
            while n > 0 {
                t[19 - len] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                len += 1
            }
            if v < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: t[(20 - len)...])
        }
    }

    /// Writes a number with at most millisecond precision, as timestamps and durations need.
    public mutating func seconds(_ v: Double) {
        let ms = Int((v * 1000).rounded())
        if ms < 0 && ms > -1000 { bytes.append(UInt8(ascii: "-")) }  // int(0) would drop the sign
        int(ms / 1000)
        let frac = abs(ms % 1000)
        if frac == 0 { return }
        bytes.append(UInt8(ascii: "."))
        var digits = [UInt8(ascii: "0") + UInt8(frac / 100), UInt8(ascii: "0") + UInt8(frac / 10 % 10), UInt8(ascii: "0") + UInt8(frac % 10)]
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        bytes.append(contentsOf: digits)
    }

    public mutating func bool(_ v: Bool) {
        if v { raw("true") } else { raw("false") }
    }

    /// Escaping only touches ASCII, so decoding the written body repairs exactly the invalid bytes.
    private mutating func repairUTF8(bodyStart: Int) {
        let body = Array(bytes[bodyStart...])
        let repaired = Array(String(decoding: body, as: UTF8.self).utf8)
        if repaired != body { bytes.replaceSubrange(bodyStart..., with: repaired) }
    }

    @usableFromInline static let hex: [UInt8] = Array("0123456789abcdef".utf8)
}
