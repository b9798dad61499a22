@testable import JobgateServer

/// SplitMix64: a tiny deterministic generator so randomized tests replay identically on every run.
struct SeededRNG: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

/// True when `b` is well-formed UTF-8 (decoding it without repairs gives the same bytes back).
func isValidUTF8(_ b: [UInt8]) -> Bool { Array(String(decoding: b, as: UTF8.self).utf8) == b }

/// Outcome of `JSONScanner.validate` as a value.
func validated(_ b: [UInt8]) -> Result<JSONSpan, JSONSyntaxError> {
    b.withUnsafeBytes { buf in
        do { return .success(try JSONScanner.validate(buf)) } catch let e as JSONSyntaxError {
            return .failure(e)
        } catch {
            fatalError("validate threw a non-syntax error: \(error)")
        }
    }
}

func validated(_ s: String) -> Result<JSONSpan, JSONSyntaxError> { validated(utf8(s)) }

func accepts(_ b: [UInt8]) -> Bool {
    if case .success = validated(b) { return true }
    return false
}

func accepts(_ s: String) -> Bool { accepts(utf8(s)) }

/// The members of a top-level object, or nil when `scanObject` rejects the buffer.
func objectMembers(_ b: [UInt8]) -> [(key: JSONSpan, value: JSONSpan)]? {
    b.withUnsafeBytes { buf in
        var out: [(key: JSONSpan, value: JSONSpan)] = []
        do {
            try JSONScanner.scanObject(buf) { out.append((key: $0, value: $1)) }
            return out
        } catch {
            return nil
        }
    }
}

/// The elements of a top-level array, or nil when `scanArray` rejects the buffer.
func arrayElements(_ b: [UInt8]) -> [JSONSpan]? {
    b.withUnsafeBytes { buf in
        var out: [JSONSpan] = []
        do {
            try JSONScanner.scanArray(buf) { out.append($0) }
            return out
        } catch {
            return nil
        }
    }
}

/// The bytes a span covers.
func slice(_ b: [UInt8], _ span: JSONSpan) -> [UInt8] { Array(b[span.start..<span.end]) }
