/// Splits a byte stream into request lines. Complete lines inside a read chunk are handed out
/// in place; only a line split across reads is copied.
public struct LineFramer {
    public enum Event {
        case line(UnsafeRawBufferPointer)
        /// A line longer than `maxLine`; the rest of it up to its newline is dropped.
        case tooLarge
    }

    public let maxLine: Int
    private var partial: [UInt8] = []
    private var discarding = false

    public init(maxLine: Int) { self.maxLine = maxLine }

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        var start = 0
        while start < chunk.count {
            guard let nl = firstNewline(chunk, from: start) else {
                keepTail(UnsafeRawBufferPointer(rebasing: chunk[start...]), handle)
                return
            }
            let piece = UnsafeRawBufferPointer(rebasing: chunk[start..<nl])
            start = nl + 1
            if discarding {
                discarding = false
                continue
            }
            if partial.isEmpty {
                emit(piece, handle)
            } else if partial.count + piece.count - LineFramer.trailingCR(piece.last ?? partial.last) > maxLine {
                partial.removeAll()
                handle(.tooLarge)
            } else {
                partial.append(contentsOf: piece)
                let line = partial
                partial = []  // a connection keeps no buffer between split lines (up to maxLine each)
                line.withUnsafeBytes { emit($0, handle) }
            }
        }
    }

    /// At end of input, a last line without a newline still counts as a request.
    public mutating func finish(_ handle: (Event) -> Void) {
        guard !partial.isEmpty, !discarding else { return }
        let line = partial
        partial = []
        line.withUnsafeBytes { emit($0, handle) }
    }

    private mutating func keepTail(_ tail: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        if discarding { return }
        // A `\r` ending the tail may be the one before the newline, which is not counted.
        if partial.count + tail.count - LineFramer.trailingCR(tail.last) > maxLine {
            partial = []
            discarding = true
            handle(.tooLarge)
        } else {
            partial.append(contentsOf: tail)
        }
    }

    private func emit(_ piece: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        var line = piece
        if let last = line.last, last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.count > maxLine { handle(.tooLarge); return }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        handle(.line(line))
    }

    private static func trailingCR(_ last: UInt8?) -> Int { last == UInt8(ascii: "\r") ? 1 : 0 }

    private func firstNewline(_ b: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < b.count,
              let p = memchr(b.baseAddress! + from, 0x0A, b.count - from) else { return nil }
        return p - UnsafeMutableRawPointer(mutating: b.baseAddress!)
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif
