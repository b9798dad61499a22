import Testing
@testable import JobgateServer

private enum Event: Equatable, CustomStringConvertible {
    case line(String)
    case tooLarge

    var description: String {
        switch self {
        case .line(let s): "line(\(s.debugDescription))"
        case .tooLarge: "tooLarge"
        }
    }
}

/// Feeds `chunks` (and optionally `finish()`) to a framer and records what it hands out.
private func frame(_ chunks: [[UInt8]], maxLine: Int = 8, finish: Bool = false) -> [Event] {
    var framer = LineFramer(maxLine: maxLine)
    var events: [Event] = []
    let record = { (e: LineFramer.Event) in
        switch e {
        case .line(let b): events.append(.line(text(Array(b))))
        case .tooLarge: events.append(.tooLarge)
        }
    }
    for chunk in chunks {
        chunk.withUnsafeBytes { framer.feed($0, record) }
    }
    if finish { framer.finish(record) }
    return events
}

private func frame(_ chunks: [String], maxLine: Int = 8, finish: Bool = false) -> [Event] {
    frame(chunks.map(utf8), maxLine: maxLine, finish: finish)
}

/// What protocol.md says the stream means: split at `\n`, drop one `\r` before it, a line longer
/// than `maxLine` (the `\n` and that `\r` not counted) is TOO_LARGE, a blank line is ignored, and a
/// last line without `\n` still counts at end of input.
private func reference(_ stream: [UInt8], maxLine: Int) -> [Event] {
    var events: [Event] = []
    let pieces = stream.split(separator: 0x0A, omittingEmptySubsequences: false)
    for piece in pieces {
        var line = Array(piece)
        if line.last == 0x0D { line.removeLast() }
        if line.count > maxLine {
            events.append(.tooLarge)
        } else if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            events.append(.line(text(line)))
        }
    }
    return events
}

@Suite struct LineFramerTests {
    @Test func oneLinePerChunk() {
        #expect(frame(["abc\n"]) == [.line("abc")])
        #expect(frame(["abc\n", "de\n"]) == [.line("abc"), .line("de")])
    }

    @Test func severalLinesInOneChunk() {
        #expect(frame(["a\nbb\nccc\n"]) == [.line("a"), .line("bb"), .line("ccc")])
        #expect(frame(["a\nb"]) == [.line("a")], "an unterminated tail waits")
    }

    @Test func linesSplitAcrossChunks() {
        #expect(frame(["ab", "c\n"]) == [.line("abc")])
        #expect(frame(["a", "b", "c", "\nd", "e\nf\n"]) == [.line("abc"), .line("de"), .line("f")])
        #expect(frame(["abc", "\n"]) == [.line("abc")])
        #expect(frame(["", "abc\n", ""]) == [.line("abc")], "empty chunks are harmless")
    }

    @Test func crlf() {
        #expect(frame(["a\r\nb\r\n"]) == [.line("a"), .line("b")])
        #expect(frame(["a\r", "\nb\n"]) == [.line("a"), .line("b")])
        #expect(frame(["a", "\r\n"]) == [.line("a")])
        #expect(frame(["a\rb\n"]) == [.line("a\rb")], "only a \\r right before the \\n is dropped")
    }

    @Test func blankLinesAreIgnored() {
        #expect(frame(["\n\n  \n\t\n\r\n \t\r\n"]) == [])
        #expect(frame(["x\n\n", "\ny\n"]) == [.line("x"), .line("y")])
        #expect(frame([" ", " \n"]) == [])
        #expect(frame([" x \n"]) == [.line(" x ")], "lines are not trimmed")
    }

    @Test func lineOfExactlyMaxLineIsAccepted() {
        #expect(frame(["12345678\n"]) == [.line("12345678")])
        #expect(frame(["1234", "5678\n"]) == [.line("12345678")])
        #expect(frame(["12345678", "\n"]) == [.line("12345678")])
        #expect(frame(["1", "2", "3", "4", "5", "6", "7", "8", "\n"]) == [.line("12345678")])
    }

    @Test func crBeforeNewlineIsNotCountedAgainstMaxLine() {
        #expect(frame(["12345678\r\n"]) == [.line("12345678")])
        #expect(frame(["1234", "5678\r\n"]) == [.line("12345678")])
        #expect(frame(["12345678\r", "\n"]) == [.line("12345678")])
        #expect(frame(["12345678", "\r\n"]) == [.line("12345678")])
        #expect(frame(["123456789\r\n"]) == [.tooLarge])
        #expect(frame(["1234", "56789\r\n"]) == [.tooLarge])
        #expect(frame(["12345678\r", "9\n"]) == [.tooLarge], "a \\r that is not before the \\n counts")
    }

    @Test func oneByteTooLongIsRejectedOnce() {
        #expect(frame(["123456789\n"]) == [.tooLarge])
        #expect(frame(["123456789\nok\n"]) == [.tooLarge, .line("ok")])
        #expect(frame(["12345", "6789\nok\n"]) == [.tooLarge, .line("ok")])
        #expect(frame(["123456789", "\nok\n"]) == [.tooLarge, .line("ok")])
    }

    @Test func longLineSpanningChunksIsSkippedUpToItsNewline() {
        #expect(frame(["12345", "6789", "abcdef", "ghij", "kl\nok\n"]) == [.tooLarge, .line("ok")])
        #expect(frame(["123456789abc", "{\"op\":1}", "\n", "next\n"]) == [.tooLarge, .line("next")],
                "text after the limit is not mistaken for a request")
        #expect(frame(["123456789abc", "def"], finish: true) == [.tooLarge], "finish does not emit the skipped rest")
        #expect(frame([String(repeating: "x", count: 1000) + "\n" + "a\n"]) == [.tooLarge, .line("a")])
    }

    @Test func finishEmitsAnUnterminatedLastLine() {
        #expect(frame(["abc"], finish: true) == [.line("abc")])
        #expect(frame(["a\nb", "c"], finish: true) == [.line("a"), .line("bc")])
        #expect(frame(["abc\r"], finish: true) == [.line("abc")])
        #expect(frame(["abc\n"], finish: true) == [.line("abc")], "nothing pending: nothing more")
        #expect(frame(["   "], finish: true) == [], "a blank tail is ignored")
        #expect(frame([String](), finish: true) == [])
        #expect(frame(["12345678"], finish: true) == [.line("12345678")])
    }

    @Test func finishEmitsOnlyOnce() {
        var framer = LineFramer(maxLine: 8)
        var count = 0
        utf8("abc").withUnsafeBytes { framer.feed($0) { _ in count += 1 } }
        framer.finish { _ in count += 1 }
        framer.finish { _ in count += 1 }
        #expect(count == 1)
    }

    @Test func linesPointIntoTheChunkWhenComplete() {
        var framer = LineFramer(maxLine: 64)
        let chunk = utf8("hello\nworld\n")
        var offsets: [Int] = []
        chunk.withUnsafeBytes { buf in
            framer.feed(buf) { e in
                if case .line(let l) = e { offsets.append(l.baseAddress! - buf.baseAddress!) }
            }
        }
        #expect(offsets == [0, 6])
    }

    @Test(.timeLimit(.minutes(1))) func randomChunkingMatchesTheReference() {
        var rng = SeededRNG(seed: 0xF4A3)
        let maxLine = 10
        let alphabet: [UInt8] = Array("ab{}\" \t\r".utf8)
        for round in 0..<2_000 {
            // A stream of lines of lengths around the limit, with LF or CRLF endings and blank lines.
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 0...8, using: &rng) {
                let length = Int.random(in: 0...(maxLine + 4), using: &rng)
                stream += (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
                if Bool.random(using: &rng) { stream.append(0x0D) }
                stream.append(0x0A)
            }
            if Bool.random(using: &rng) {
                stream += (0..<Int.random(in: 0...(maxLine + 3), using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            }
            // Cut it at random places (some chunks empty).
            var chunks: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let n = Int.random(in: 0...6, using: &rng)
                chunks.append(Array(stream[i..<min(stream.count, i + n)]))
                i += n
            }
            let got = frame(chunks, maxLine: maxLine, finish: true)
            let whole = frame([stream], maxLine: maxLine, finish: true)
            let expected = reference(stream, maxLine: maxLine)
            #expect(whole == expected, "round \(round), whole stream \(text(stream).debugDescription)")
            #expect(got == expected, "round \(round), chunks \(chunks.map(text))")
        }
    }
}
