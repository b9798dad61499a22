@preconcurrency import Glibc

/// Job ids (RQ's default form, a uuid4 string) and lease tokens (RQ's execution-id form, 32 hex
/// digits), drawn from the kernel's random source 4 KiB at a time: one read per 256 ids.
struct Identifiers {
    private static let urandom: Int32 = {
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        precondition(fd >= 0, "cannot open /dev/urandom")
        return fd
    }()

    private var pool = [UInt8](repeating: 0, count: 4096)
    private var used = 4096

    private mutating func take16() -> ArraySlice<UInt8> {
        if used + 16 > pool.count {
            let n = pool.withUnsafeMutableBytes { read(Identifiers.urandom, $0.baseAddress, $0.count) }
            precondition(n == pool.count, "short read from /dev/urandom")
            used = 0
        }
        defer { used += 16 }
        return pool[used..<(used + 16)]
    }

    mutating func jobID() -> String {
        var b = Array(take16())
        b[6] = b[6] & 0x0F | 0x40
        b[8] = b[8] & 0x3F | 0x80
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func leaseToken() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for byte in take16() {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Names that end up inside Redis keys. RQ requires job ids of `[A-Za-z0-9_-]` (a `:` would split
/// the id); queue names may also hold `.`.
enum Names {
    static let maxLength = 128
    static let queueRule = "1-\(maxLength) characters of A-Z a-z 0-9 _ - ."
    static let jobIDRule = "1-\(maxLength) characters of A-Z a-z 0-9 _ -"

    static func isValidJobID(_ s: String) -> Bool { isValid(s, extra: []) }
    static func isValidQueue(_ s: String) -> Bool { isValid(s, extra: [UInt8(ascii: ".")]) }

    private static func isValid(_ s: String, extra: [UInt8]) -> Bool {
        let u = s.utf8
        guard !u.isEmpty, u.count <= maxLength else { return false }
        return u.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                || extra.contains(c)
        }
    }
}
