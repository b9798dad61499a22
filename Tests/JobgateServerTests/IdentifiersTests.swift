import Testing
@testable import JobgateServer

private let hex = Set("0123456789abcdef".utf8)

@Suite struct IdentifiersTests {
    /// RFC 4122 version 4: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lowercase hex.
    private func isUUID4(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard hex.contains(c) else { return false }
            }
        }
        return b[14] == UInt8(ascii: "4") && Set("89ab".utf8).contains(b[19])
    }

    @Test func jobIDsAreVersion4UUIDs() {
        var ids = Identifiers()
        for _ in 0..<1_000 {
            let id = ids.jobID()
            #expect(isUUID4(id), "\(id)")
            #expect(Names.isValidJobID(id))
        }
    }

    @Test func leaseTokensAre32LowercaseHexDigits() {
        var ids = Identifiers()
        for _ in 0..<1_000 {
            let t = ids.leaseToken()
            #expect(t.utf8.count == 32 && t.utf8.allSatisfy(hex.contains), "\(t)")
        }
    }

    @Test func identifiersAreUnique() {
        // 3,000 draws cross several 4 KiB pool refills (256 identifiers each).
        var ids = Identifiers()
        var seen = Set<String>()
        for i in 0..<3_000 {
            seen.insert(i % 3 == 0 ? ids.leaseToken() : ids.jobID())
        }
        #expect(seen.count == 3_000)
        var other = Identifiers()
        #expect(!seen.contains(other.jobID()), "a second generator does not replay the first")
    }

    @Test func randomBitsAreSpread() {
        // Every hex digit shows up in every free position of 2,000 ids (a stuck nibble would not).
        var ids = Identifiers()
        var perPosition = [Set<UInt8>](repeating: [], count: 36)
        for _ in 0..<2_000 {
            for (i, c) in ids.jobID().utf8.enumerated() { perPosition[i].insert(c) }
        }
        for i in 0..<36 where ![8, 13, 14, 18, 19, 23].contains(i) {
            #expect(perPosition[i].count == 16, "position \(i)")
        }
        #expect(perPosition[14] == [UInt8(ascii: "4")])
        #expect(perPosition[19] == Set("89ab".utf8))
    }
}

@Suite struct NamesTests {
    @Test func jobIDs() {
        for ok in ["a", "A-z_0", "7f1c2d3e-0000-4000-8000-000000000000", String(repeating: "x", count: 128)] {
            #expect(Names.isValidJobID(ok), "\(ok)")
        }
        for bad in ["", "a:b", "a.b", "a b", "é", "a/b", "a\n", String(repeating: "x", count: 129), "{id}", "a\u{0}"] {
            #expect(!Names.isValidJobID(bad), "\(bad.debugDescription)")
        }
    }

    @Test func queues() {
        for ok in ["default", "high.priority", "a-b_c.D9", ".", String(repeating: "q", count: 128)] {
            #expect(Names.isValidQueue(ok), "\(ok)")
        }
        for bad in ["", "a:b", "a b", "rq:queue:x", "ü", "*", String(repeating: "q", count: 129)] {
            #expect(!Names.isValidQueue(bad), "\(bad.debugDescription)")
        }
        #expect(Names.maxLength == 128)
    }
}
