import CHiredis
import Testing
@testable import JobgateServer

/// Replies read from `input`, fed in the pieces `cuts` makes, each rendered as text before the
/// next is read; with an arena, `reset` runs after each, as RedisConnection does.
private func readAll(_ input: [UInt8], cuts: [Int], arena: ReplyArena?) -> [String] {
    let reader = arena?.makeReader() ?? redisReaderCreate()!
    defer { redisReaderFree(reader) }
    var out: [String] = []
    var start = 0
    for end in cuts + [input.count] where end >= start {
        input[start..<end].withUnsafeBytes { redisReaderFeed(reader, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        start = end
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else { out.append("error"); return out }
            guard let raw else { break }
            out.append(render(RedisReply(ptr: raw.assumingMemoryBound(to: redisReply.self))))
            if let arena { arena.reset() } else { freeReplyObject(raw) }
        }
    }
    return out
}

private func render(_ r: RedisReply) -> String {
    switch r.ptr.pointee.type {
    case REDIS_REPLY_ARRAY: "[" + (0..<r.count).map { render(r[$0]) }.joined(separator: ",") + "]"
    case REDIS_REPLY_INTEGER: "i\(r.integer)"
    case REDIS_REPLY_NIL: "nil"
    case let type: "\(type):\(r.bytes.count):\(r.string)"
    }
}

/// A random reply in RESP2, nested up to `depth` more levels.
private func randomReply(_ rng: inout SeededRNG, depth: Int) -> String {
    switch Int.random(in: 0..<(depth > 0 ? 7 : 5), using: &rng) {
    case 0: return ":\(Int64.random(in: .min ... .max, using: &rng))\r\n"
    case 1: return "$-1\r\n"
    case 2: return "+OK\r\n"
    case 3: return "-ERR something \(Int.random(in: 0..<99, using: &rng))\r\n"
    case 4:
        // Bytes, not Characters: "\r\n" is one Character.
        let n = [0, 1, 5, 100, 20_000].randomElement(using: &rng)!
        let payload = (0..<n).map { _ in Array("ab\r\n\0z".utf8).randomElement(using: &rng)! }
        return "$\(n)\r\n" + String(decoding: payload, as: UTF8.self) + "\r\n"
    case 5: return "*-1\r\n"
    default:
        let n = Int.random(in: 0..<12, using: &rng)
        return "*\(n)\r\n" + (0..<n).map { _ in randomReply(&rng, depth: depth - 1) }.joined()
    }
}

@Suite struct ReplyArenaTests {
    @Test func repliesReadIntoTheArenaMatchHiredisOwn() {
        var rng = SeededRNG(seed: 7)
        let arena = ReplyArena()
        for _ in 0..<300 {
            let input = utf8((0..<Int.random(in: 1...4, using: &rng)).map { _ in randomReply(&rng, depth: 4) }.joined())
            let cuts = (0..<Int.random(in: 0...6, using: &rng)).map { _ in Int.random(in: 0...input.count, using: &rng) }.sorted()
            let expected = readAll(input, cuts: [], arena: nil)
            #expect(!expected.isEmpty && !expected.contains("error"))
            #expect(readAll(input, cuts: cuts, arena: arena) == expected)
        }
    }

    @Test func aReplyLargerThanTheBlockAndTheOnesAfterIt() {
        let arena = ReplyArena()
        let big = "*3000\r\n" + String(repeating: "$10\r\n0123456789\r\n", count: 3000)
        let input = utf8(big + "*2\r\n:1\r\n$1\r\nx\r\n" + big)
        let byteByByte = Array(1..<input.count)
        let replies = readAll(input, cuts: byteByByte, arena: arena)
        #expect(replies == readAll(input, cuts: [], arena: nil))
        #expect(replies.count == 3 && replies[1] == "[i1,\(REDIS_REPLY_STRING):1:x]")
    }

    @Test func aMalformedReplyIsAnErrorNotACrash() {
        #expect(readAll(utf8("*2\r\n:1\r\n?what\r\n"), cuts: [], arena: ReplyArena()) == ["error"])
        #expect(readAll(utf8("$abc\r\n"), cuts: [], arena: ReplyArena()) == ["error"])
    }
}
