import Testing
@testable import JobgateServer

private func encoded(_ s: String) -> String { text(Base64.encode(utf8(s))) }
private func decoded(_ s: String) -> [UInt8]? { utf8(s).withUnsafeBytes { Base64.decode($0) } }

@Suite struct Base64Tests {
    /// RFC 4648 section 10.
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                      ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(_ plain: String, _ base64: String) {
        #expect(encoded(plain) == base64)
        #expect(decoded(base64) == utf8(plain))
    }

    @Test func unpaddedInputDecodes() {
        #expect(decoded("Zg") == utf8("f"))
        #expect(decoded("Zm8") == utf8("fo"))
        #expect(decoded("Zm9vYmE") == utf8("fooba"))
    }

    @Test func alphabetEdges() {
        #expect(text(Base64.encode([0xFB, 0xFF, 0xBF])) == "+/+/")
        #expect(decoded("+/+/") == [0xFB, 0xFF, 0xBF])
        #expect(text(Base64.encode([0x00, 0x00, 0x00])) == "AAAA")
        #expect(text(Base64.encode([0xFF, 0xFF, 0xFF])) == "////")
        #expect(text(Base64.encode([0x00])) == "AA==")
        #expect(text(Base64.encode([0xFF, 0xFE])) == "//4=")
    }

    @Test func otherCharactersAreRejected() {
        for bad in ["Zm9v!", "Zm 9v", "Zm9v\n", "-_-_", "Zm9v\u{0}", "Zé==", "Zm*v"] {
            #expect(decoded(bad) == nil, "\(bad.debugDescription)")
        }
    }

    @Test func allByteValuesRoundTrip() {
        let all = (0...255).map { UInt8($0) }
        #expect(decoded(text(Base64.encode(all))) == all)
    }

    @Test func randomRoundTrips() {
        var rng = SeededRNG(seed: 64)
        for n in 0..<200 {
            let input = rng.bytes(n % 67)
            let out = Base64.encode(input)
            #expect(out.count == (input.count + 2) / 3 * 4)
            #expect(out.allSatisfy { $0 < 0x80 })
            #expect(out.withUnsafeBytes { Base64.decode($0) } == input)
            let viaPointer = input.withUnsafeBytes { Base64.encode($0) }
            #expect(viaPointer == out)
        }
    }
}

@Suite struct Base64StrictnessTests {
    @Test func rejectsDataAfterPaddingAndImpossibleLengths() {
        #expect(decoded("Zg==!!") == nil)
        #expect(decoded("Zg==Zg==") == nil)
        #expect(decoded("Z") == nil)
        #expect(decoded("Zm9vY") == nil)
        #expect(decoded("Zg===") == nil)
        #expect(decoded("Zg==") == utf8("f"))
    }
}
