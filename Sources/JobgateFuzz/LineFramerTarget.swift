import JobgateServer

/// The framer, fed the input in pieces, must report the same lines and TOO_LARGE events as a
/// plain reading of the whole input: split at `\n`, drop one `\r` before it, skip blank lines,
/// and call any line longer than the limit too large. The first two bytes pick the limit and
/// where the input is cut into reads.
func fuzzLineFramer(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 2 else { return }
    let maxLine = 1 + Int(data[0] % 32)
    let cut = Int(data[1]) % 7 + 1
    let input = UnsafeRawBufferPointer(rebasing: data[2...])

    var framer = LineFramer(maxLine: maxLine)
    var seen: [FramedLine] = []
    let record: (LineFramer.Event) -> Void = { event in
        switch event {
        case .line(let bytes): seen.append(.line(Array(bytes)))
        case .tooLarge: seen.append(.tooLarge)
        }
    }
    var start = 0
    var step = 0
    while start < input.count {
        step += 1
        let end = min(input.count, start + step * cut)
        framer.feed(UnsafeRawBufferPointer(rebasing: input[start..<end]), record)
        start = end
    }
    framer.finish(record)

    let expected = expectedLines(Array(input), maxLine: maxLine)
    if seen != expected {
        fuzzFailure("framer (limit \(maxLine), reads of \(cut)×n bytes) gave \(seen), expected \(expected)", data)
    }
}

enum FramedLine: Equatable, CustomStringConvertible {
    case line([UInt8])
    case tooLarge

    var description: String {
        switch self {
        case .line(let b): "line(\(String(decoding: b, as: UTF8.self).debugDescription))"
        case .tooLarge: "tooLarge"
        }
    }
}

/// What the protocol says the requests in `input` are (protocol.md, "Transport and framing").
func expectedLines(_ input: [UInt8], maxLine: Int) -> [FramedLine] {
    var pieces = input.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    if pieces.last?.isEmpty == true { pieces.removeLast() }
    var lines: [FramedLine] = []
    for var piece in pieces {
        if piece.last == 0x0D { piece.removeLast() }
        if piece.count > maxLine {
            lines.append(.tooLarge)
        } else if !piece.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            lines.append(.line(piece))
        }
    }
    return lines
}
