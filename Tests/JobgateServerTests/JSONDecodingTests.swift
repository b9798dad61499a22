import Testing
@testable import JobgateServer

/// Validates `json` (one JSON value) and applies `body` to its span and buffer.
private func withSpan<R>(_ json: [UInt8], _ body: (JSONSpan, UnsafeRawBufferPointer) throws -> R) throws -> R {
    let span = try validated(json).get()
    return try json.withUnsafeBytes { try body(span, $0) }
}

private func unescaped(_ json: String) throws -> [UInt8] {
    try withSpan(utf8(json)) { span, buf in span.stringBytes(in: buf) }
}

private func number(_ json: String) throws -> Double {
    try withSpan(utf8(json)) { span, buf in span.double(in: buf) }
}

private let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]  // U+FFFD

@Suite struct JSONDecodingTests {
    @Test func plainStringsAreCopiedAsIs() throws {
        #expect(try unescaped(#""""#) == [])
        #expect(try unescaped(#""abc""#) == utf8("abc"))
        #expect(try unescaped("\"é€😀\"") == utf8("é€😀"))
        #expect(try withSpan(utf8(#""héllo""#)) { s, b in s.string(in: b) } == "héllo")
    }

    @Test func shortEscapes() throws {
        #expect(try unescaped(#""\"\\\/\b\f\n\r\t""#) == [0x22, 0x5C, 0x2F, 0x08, 0x0C, 0x0A, 0x0D, 0x09])
        #expect(try unescaped(#""a\nb""#) == utf8("a\nb"))
        #expect(try unescaped(#""\\n""#) == utf8("\\n"), "an escaped backslash does not start another escape")
        #expect(try unescaped(#""x\\""#) == utf8("x\\"))
    }

    @Test func unicodeEscapes() throws {
        #expect(try unescaped(#""\u0041""#) == utf8("A"))
        #expect(try unescaped(#""\u00e9\u00E9""#) == utf8("éé"))
        #expect(try unescaped(#""\u20AC""#) == [0xE2, 0x82, 0xAC])
        #expect(try unescaped(#""\u0000""#) == [0x00])
        #expect(try unescaped(#""\u007f\u0080\u07FF\u0800\uFFFF""#)
                == [0x7F, 0xC2, 0x80, 0xDF, 0xBF, 0xE0, 0xA0, 0x80, 0xEF, 0xBF, 0xBF])
        #expect(try unescaped(#""a\u0062c""#) == utf8("abc"))
    }

    @Test func surrogatePairsCombine() throws {
        #expect(try unescaped(#""\uD83D\uDE00""#) == utf8("😀"))
        #expect(try unescaped(#""\ud83d\ude00""#) == [0xF0, 0x9F, 0x98, 0x80])
        #expect(try unescaped(#""\uD800\uDC00""#) == [0xF0, 0x90, 0x80, 0x80])  // U+10000
        #expect(try unescaped(#""\uDBFF\uDFFF""#) == [0xF4, 0x8F, 0xBF, 0xBF])  // U+10FFFF
        #expect(try unescaped(#""x\uD834\uDD1Ey""#) == utf8("x𝄞y"))
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        #expect(try unescaped(#""\uD800""#) == replacement, "lone high at the end")
        #expect(try unescaped(#""\uDC00""#) == replacement, "lone low")
        #expect(try unescaped(#""\uD800x""#) == replacement + utf8("x"), "high followed by a raw character")
        #expect(try unescaped(#""\uD800\n""#) == replacement + [0x0A], "high followed by another escape")
        #expect(try unescaped(#""\uD800\u0041""#) == replacement + utf8("A"), "high followed by a BMP escape")
        #expect(try unescaped(#""\uD800\uD800\uDC00""#) == replacement + [0xF0, 0x90, 0x80, 0x80], "two highs then a low")
        #expect(try unescaped(#""\uDE00\uD83D""#) == replacement + replacement, "inverted pair")
        #expect(try unescaped(#""\uDFAA\uDFAA""#) == replacement + replacement)
        let mixed = try unescaped(#""a\uD800b\uDC00c""#)
        #expect(mixed == utf8("a") + replacement + utf8("b") + replacement + utf8("c"))
        #expect(isValidUTF8(mixed))
    }

    @Test func keysAreUnescapedToo() throws {
        let line = utf8(#"{"\u006Fp":1,"op":2,"o":3,"opx":4,"":5,"\"op\"":6}"#)
        let keys = try #require(objectMembers(line)).map(\.key)
        let matches = line.withUnsafeBytes { buf in keys.map { $0.isKey("op", in: buf) } }
        #expect(matches == [true, true, false, false, false, false])
        let empty = line.withUnsafeBytes { buf in keys.map { $0.isKey("", in: buf) } }
        #expect(empty == [false, false, false, false, true, false])
        let quoted = line.withUnsafeBytes { buf in keys[5].isKey("\"op\"", in: buf) }
        #expect(quoted)
        let escapedLonger = utf8(#"{"\u0071ueue":1}"#)
        let k = try #require(objectMembers(escapedLonger)?.first?.key)
        #expect(escapedLonger.withUnsafeBytes { k.isKey("queue", in: $0) })
        #expect(!escapedLonger.withUnsafeBytes { k.isKey("queues", in: $0) })
        #expect(!escapedLonger.withUnsafeBytes { k.isKey("queu", in: $0) })
    }

    @Test func numbers() throws {
        #expect(try number("0") == 0)
        #expect(try number("-0").sign == .minus)
        #expect(try number("42") == 42)
        #expect(try number("-1.5") == -1.5)
        #expect(try number("0.1") == 0.1)
        #expect(try number("1e3") == 1000)
        #expect(try number("2.5E-3") == 0.0025)
        #expect(try number("1E+2") == 100)
        #expect(try number("9007199254740993") == 9007199254740992)  // nearest double
        #expect(try number("1e400") == .infinity)
        #expect(try number("-1e400") == -.infinity)
        #expect(try number("1e-400") == 0)
        #expect(try number("123456789012345678901234567890") == 1.2345678901234568e29)
    }

    @Test func numberInsideAlargerBufferStopsAtItsSpan() throws {
        let line = utf8(#"{"a":12,"b":34.5e1}"#)
        let members = try #require(objectMembers(line))
        let values = line.withUnsafeBytes { buf in members.map { $0.value.double(in: buf) } }
        #expect(values == [12, 345])
    }

    @Test func bytesOfASpanAreTheOriginalText() throws {
        let line = utf8(#"{"args": [1, "x" ,{}] }"#)
        let v = try #require(objectMembers(line)?.first?.value)
        #expect(line.withUnsafeBytes { Array(v.bytes(in: $0)) } == utf8(#"[1, "x" ,{}]"#))
    }
}
