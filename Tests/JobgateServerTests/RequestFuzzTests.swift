import Foundation
import Testing
@testable import JobgateServer

/// Seeded mutation fuzzing of everything a request line goes through before Redis: framing,
/// the JSON scanner, field access and every op's decoder. Seeds: Tests/fuzz/requests.jsonl.
@Suite struct RequestFuzzTests {
    static let corpus: [[UInt8]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/requests.jsonl")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { Array($0.utf8) }
    }()

    /// A gateway that is never started: decoders need its config, zlib and id source, not Redis.
    static func idleGateway() -> Gateway {
        let loop = EventLoop()
        let store = RedisStore(loop: loop, endpoint: RedisEndpoint(server: .unix(path: "/nonexistent")), scripts: Gateway.scripts)
        return Gateway(loop: loop, store: store, config: GatewayConfig())
    }

    @Test func corpusLinesAreValidRequests() throws {
        #expect(Self.corpus.count >= 15)
        for line in Self.corpus {
            let op = try line.withUnsafeBytes { try Request(line: $0).op }
            #expect(op != nil)
        }
    }

    @Test(.timeLimit(.minutes(1))) func mutatedLinesDecodeOrFailCleanly() {
        let gateway = Self.idleGateway()
        var rng = SeededRNG(seed: 0x6a6f6267)
        var decoded = 0, refused = 0
        for round in 0..<30_000 {
            var line = Self.corpus[round % Self.corpus.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) { mutate(&line, &rng) }
            var framer = LineFramer(maxLine: 4096)
            let handle: (LineFramer.Event) -> Void = { event in
                guard case .line(let bytes) = event else { return }
                do {
                    var request = try Request(line: bytes)
                    try exercise(&request, gateway)
                    decoded += 1
                } catch let error as OpError {
                    #expect(error.code == .badRequest, "\(error.code) for \(String(decoding: line, as: UTF8.self)): \(error.message)")
                    refused += 1
                } catch {
                    Issue.record("not an OpError: \(error)")
                }
            }
            line.withUnsafeBytes { framer.feed($0, handle) }
            framer.finish(handle)
        }
        #expect(decoded > 1000 && refused > 1000, "the mutations should reach both outcomes: \(decoded) decoded, \(refused) refused")
    }

    /// Runs the op's own decoder from the op table (not a copy of it); nothing is sent.
    private func exercise(_ r: inout Request, _ g: Gateway) throws(OpError) {
        guard let slot = r.op.flatMap({ Gateway.opSlots[$0] }) else { return }
        try Gateway.ops[slot].check(g, &r)
    }

    private func mutate(_ line: inout [UInt8], _ rng: inout SeededRNG) {
        let interesting: [UInt8] = Array("{}[]\",:\\0-1eE.+ntfu\u{7f}".utf8) + [0x00, 0x0A, 0x0D, 0xC3, 0xFF, 0xED, 0xA0]
        guard !line.isEmpty else { line = [interesting.randomElement(using: &rng)!]; return }
        let i = Int.random(in: 0..<line.count, using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: line[i] = interesting.randomElement(using: &rng)!
        case 1: line.remove(at: i)
        case 2: line.insert(interesting.randomElement(using: &rng)!, at: i)
        case 3: line[i] = UInt8.random(in: 0...255, using: &rng)
        default:
            let j = Int.random(in: i..<line.count, using: &rng)
            line.insert(contentsOf: line[i...j], at: j)
        }
    }
}
