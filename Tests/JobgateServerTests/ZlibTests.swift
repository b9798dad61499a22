import Testing
@testable import JobgateServer

/// zlib.compress(b'["tasks.add",null,[1,2],{"x":"y"}]') from Python 3 (level 6).
private let pythonCompressed: [UInt8] = [
    120, 156, 139, 86, 42, 73, 44, 206, 46, 214, 75, 76, 73, 81, 210, 201, 43, 205, 201, 209, 137, 54, 212, 49, 138,
    213, 169, 86, 170, 80, 178, 82, 170, 84, 170, 141, 5, 0, 194, 124, 10, 171,
]
/// zlib.compress(b'') and zlib.compress(b'hello world', 9) from Python 3.
private let pythonEmpty: [UInt8] = [120, 156, 3, 0, 0, 0, 0, 1]
private let pythonHelloLevel9: [UInt8] = [120, 218, 203, 72, 205, 201, 201, 87, 40, 207, 47, 202, 73, 1, 0, 26, 11, 4, 93]

private func inflate(_ z: Zlib, _ b: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
    b.withUnsafeBytes { z.decompress($0, limit: limit) }
}

@Suite struct ZlibTests {
    @Test func roundTrips() {
        let z = Zlib()
        var rng = SeededRNG(seed: 99)
        let inputs: [[UInt8]] = [
            [], [0], utf8("hello world"), utf8(#"["f",null,[],{}]"#), [UInt8](repeating: 0x41, count: 100_000),
            rng.bytes(1), rng.bytes(255), rng.bytes(4096), rng.bytes(300_000),
            Array(String(repeating: #"{"op":"enqueue","queue":"q"},"#, count: 5_000).utf8),
        ]
        for input in inputs {
            let c = z.compress(input)
            #expect(inflate(z, c) == input, "\(input.count) bytes")
        }
    }

    /// Large inputs are deflated as Python's zlib.compress does (level 6, header 78 9c); small
    /// ones are stored (level 0, header 78 01: zlib's own "fastest" mark), bytes as they are.
    @Test func smallInputsAreStoredLargeOnesDeflated() {
        let z = Zlib()
        for input in [[UInt8](repeating: 7, count: Zlib.storeBelow), [UInt8](repeating: 7, count: 10_000)] {
            let c = z.compress(input)
            #expect(Array(c.prefix(2)) == [0x78, 0x9C])
            #expect(c.count < input.count / 4)
        }
        for input in [[], utf8("x"), utf8(#"["f",null,[1,2],{}]"#), [UInt8](repeating: 7, count: Zlib.storeBelow - 1)] {
            let c = z.compress(input)
            #expect(Array(c.prefix(2)) == [0x78, 0x01])
            // header, one final stored block (flag byte, length and its complement), the bytes, adler32
            #expect(c.count == 2 + 5 + input.count + 4)
            #expect(Array(c[7..<(7 + input.count)]) == input)
            #expect(inflate(z, c) == input)
        }
    }

    @Test func readsPythonOutput() {
        let z = Zlib()
        #expect(inflate(z, pythonCompressed) == utf8(#"["tasks.add",null,[1,2],{"x":"y"}]"#))
        #expect(inflate(z, pythonEmpty) == [])
        #expect(inflate(z, pythonHelloLevel9) == utf8("hello world"))
    }

    @Test func compressionShrinksRedundantInput() {
        let z = Zlib()
        let input = [UInt8](repeating: 0, count: 1 << 20)
        #expect(z.compress(input).count < 2_000)
    }

    @Test func garbageIsNil() {
        let z = Zlib()
        var rng = SeededRNG(seed: 5)
        #expect(inflate(z, []) == nil)
        #expect(inflate(z, utf8(#"["f",null,[],{}]"#)) == nil, "plain JSON is not zlib")
        #expect(inflate(z, [0x80, 0x04, 0x95]) == nil, "nor is a pickle")
        #expect(inflate(z, [0x78, 0x9C]) == nil, "a header alone is incomplete")
        for _ in 0..<200 {
            let g = rng.bytes(Int.random(in: 1...64, using: &rng))
            // Random bytes are almost never a complete zlib stream; when they were, the adler32 check would
            // have to pass too, so any non-nil result here would be a bug.
            #expect(inflate(z, g) == nil, "\(g)")
        }
        let c = z.compress(utf8(String(repeating: "abc", count: 1000)))
        for cut in [1, 2, 5, c.count / 2, c.count - 1] {
            #expect(inflate(z, Array(c.prefix(cut))) == nil, "truncated to \(cut) of \(c.count)")
        }
        var corrupt = c
        corrupt[corrupt.count - 1] ^= 0xFF  // adler32
        #expect(inflate(z, corrupt) == nil)
        // The stream still works after failures.
        #expect(inflate(z, pythonCompressed) != nil)
    }

    @Test func limitIsRespected() {
        let z = Zlib()
        let thousand = z.compress([UInt8](repeating: 1, count: 1000))
        #expect(inflate(z, thousand, limit: 1000)?.count == 1000, "exactly the limit is fine")
        #expect(inflate(z, thousand, limit: 999) == nil)
        #expect(inflate(z, thousand, limit: 100) == nil)
        let two = z.compress([UInt8](repeating: 1, count: 200))
        #expect(inflate(z, two, limit: 100) == nil, "output that fits the first buffer is still held to the limit")
        #expect(inflate(z, two, limit: 200)?.count == 200)
        let big = z.compress([UInt8](repeating: 9, count: 5_000_000))
        #expect(inflate(z, big, limit: 1 << 20) == nil, "a zip bomb stops at the limit")
        #expect(inflate(z, big)?.count == 5_000_000)
    }

    @Test func instancesAreReusable() {
        let z = Zlib()
        var rng = SeededRNG(seed: 17)
        for i in 0..<300 {
            let input = rng.bytes(i * 7 % 500)
            let c = z.compress(input)
            #expect(inflate(z, c) == input)
        }
    }
}
