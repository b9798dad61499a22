import Testing
@testable import JobgateServer

private func written(_ body: (inout JSONWriter) -> Void) -> String {
    var w = JSONWriter()
    body(&w)
    return text(w.bytes)
}

private func writtenBytes(_ body: (inout JSONWriter) -> Void) -> [UInt8] {
    var w = JSONWriter()
    body(&w)
    return w.bytes
}

/// Writes `input` as a JSON string, checks the output is valid JSON, and returns what it decodes to.
private func roundTrip(_ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
    let out = writtenBytes { $0.string(input) }
    let span = try validated(out).get()
    #expect(span.kind == .string && span.start == 0 && span.end == out.count, sourceLocation: sourceLocation)
    return out.withUnsafeBytes { span.stringBytes(in: $0) }
}

@Suite struct JSONWriterStringTests {
    @Test func plainText() {
        #expect(written { $0.string("plain") } == #""plain""#)
        #expect(written { $0.string("") } == #""""#)
        #expect(written { $0.string("é€😀") } == "\"é€😀\"", "valid UTF-8 is written as is")
        #expect(written { $0.string([0x7F]) } == "\"\u{7F}\"", "DEL needs no escape")
        #expect(written { $0.string("a/b") } == #""a/b""#, "the solidus is not escaped")
    }

    @Test func quotesBackslashesAndControlCharacters() {
        #expect(written { $0.string(#"a"b\c"#) } == #""a\"b\\c""#)
        #expect(written { $0.string("l1\nl2\r\tx") } == #""l1\nl2\r\tx""#)
        #expect(written { $0.string([0x00]) } == #""\u0000""#)
        #expect(written { $0.string([0x08, 0x0C]) } == #""\u0008\u000c""#)
        #expect(written { $0.string([0x1F, 0x01, 0x10]) } == #""\u001f\u0001\u0010""#)
    }

    @Test func everyByteBelowSpaceIsEscaped() throws {
        let input = (0..<0x20).map { UInt8($0) }
        let out = writtenBytes { $0.string(input) }
        #expect(!out.dropFirst().dropLast().contains { $0 < 0x20 })
        #expect(try roundTrip(input) == input)
    }

    @Test func invalidUTF8IsRepaired() throws {
        let replacement = utf8("\u{FFFD}")
        let cases: [([UInt8], [UInt8])] = [
            ([0xFF], replacement),
            (utf8("a") + [0xFF] + utf8("b"), utf8("a") + replacement + utf8("b")),
            ([0x80], replacement),
            ([0xC0, 0xAF], replacement + replacement),  // overlong
            ([0xED, 0xA0, 0x80], replacement + replacement + replacement),  // encoded surrogate
            (utf8("x") + [0xF0, 0x9F, 0x98], utf8("x") + replacement),  // truncated at the end
        ]
        for (input, expected) in cases {
            let out = writtenBytes { $0.string(input) }
            #expect(isValidUTF8(out), "\(input)")
            #expect(out == [0x22] + expected + [0x22], "\(input) -> \(out)")
            #expect(try roundTrip(input) == expected)
        }
    }

    @Test func repairKeepsEscapesAndEarlierOutput() throws {
        var w = JSONWriter()
        w.raw(#"{"ok":true"#)
        w.key("text")
        w.string([0x22, 0xFF, 0x0A, 0x5C] + utf8("é"))
        w.raw("}")
        #expect(text(w.bytes) == "{\"ok\":true,\"text\":\"\\\"\u{FFFD}\\n\\\\é\"}")
        let members = try #require(objectMembers(w.bytes))
        #expect(members.count == 2)
    }

    @Test(.timeLimit(.minutes(1))) func randomBytesAlwaysGiveValidJSON() throws {
        var rng = SeededRNG(seed: 7)
        let pool: [UInt8] = [0x00, 0x0A, 0x22, 0x5C, 0x41, 0x7F, 0x80, 0xBF, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xFF]
        for i in 0..<3_000 {
            let n = Int.random(in: 0...24, using: &rng)
            let input: [UInt8] = i % 2 == 0 ? rng.bytes(n) : (0..<n).map { _ in pool.randomElement(using: &rng)! }
            // What the writer keeps is exactly what Swift's own UTF-8 repair keeps.
            #expect(try roundTrip(input) == Array(String(decoding: input, as: UTF8.self).utf8), "\(input)")
        }
    }

    @Test func stringOverloadsAgree() {
        let s = "q\"é\n"
        let a = writtenBytes { $0.string(s) }
        let b = writtenBytes { $0.string(utf8(s)) }
        let c = writtenBytes { w in utf8(s).withUnsafeBytes { w.string($0) } }
        #expect(a == b && b == c)
    }
}

@Suite struct JSONWriterNumberTests {
    @Test(arguments: [0, 1, 7, -7, 9, 10, -10, 99, 100, 1234567890, -1234567890, Int(Int32.max), Int.max, Int.min, Int.min + 1])
    func integers(_ v: Int) {
        #expect(written { $0.int(v) } == String(v))
    }

    @Test func integersAppend() {
        #expect(written { w in w.int(-5); w.raw(","); w.int(0); w.raw(","); w.int(Int.min) } == "-5,0,-9223372036854775808")
    }

    @Test func seconds() {
        let cases: [(Double, String)] = [
            (0, "0"), (2, "2"), (1.5, "1.5"), (0.25, "0.25"), (0.001, "0.001"), (0.1, "0.1"), (0.12, "0.12"),
            (1.23456, "1.235"), (1.2341, "1.234"), (59.9996, "60"), (0.0004, "0"), (1795339800.25, "1795339800.25"),
            (1795339800.999, "1795339800.999"), (-1.5, "-1.5"), (-2, "-2"), (-0.0004, "0"), (30, "30"), (0.01, "0.01"),
        ]
        for (v, expected) in cases {
            let out = written { $0.seconds(v) }
            #expect(out == expected, "\(v)")
            #expect(accepts(out), "\(v) -> \(out) is not a JSON number")
        }
    }

    @Test func negativeSecondsBelowOneKeepTheirSign() {
        #expect(written { $0.seconds(-0.25) } == "-0.25")
        #expect(written { $0.seconds(-0.001) } == "-0.001")
        #expect(written { $0.seconds(-0.5) } == "-0.5")
    }

    @Test func secondsRoundTripThroughTheScanner() throws {
        var rng = SeededRNG(seed: 11)
        for _ in 0..<2_000 {
            let ms = Int.random(in: -5_000_000...5_000_000_000_000, using: &rng)
            let v = Double(ms) / 1000
            let out = utf8(written { $0.seconds(v) })
            let parsed = try withSpanDouble(out)
            #expect(abs(parsed - v) < 0.0005, "\(v) -> \(text(out))")
        }
    }

    @Test func boolsAndKeys() {
        #expect(written { w in
            w.raw(#"{"ok":"#); w.bool(true)
            w.key("a"); w.bool(false)
            w.key("n"); w.int(3)
            w.key("s"); w.string("x")
            w.raw("}")
        } == #"{"ok":true,"a":false,"n":3,"s":"x"}"#)
    }
}

private func withSpanDouble(_ json: [UInt8]) throws -> Double {
    let span = try validated(json).get()
    #expect(span.kind == .number)
    return json.withUnsafeBytes { span.double(in: $0) }
}
