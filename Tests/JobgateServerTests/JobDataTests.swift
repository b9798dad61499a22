import Testing
@testable import JobgateServer

private func encode(_ function: String, _ args: String?, _ kwargs: String?, _ z: Zlib) -> [UInt8] {
    utf8(function).withUnsafeBytes { f in
        func withOptional<R>(_ s: String?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
            guard let s else { return body(nil) }
            return utf8(s).withUnsafeBytes { body($0) }
        }
        return withOptional(args) { a in withOptional(kwargs) { k in JobData.encode(function: f, args: a, kwargs: k, zlib: z) } }
    }
}

private func decode(_ stored: [UInt8], _ z: Zlib) -> JobData? {
    stored.withUnsafeBytes { JobData.decode($0, zlib: z) }
}

private func part(_ d: JobData, _ span: JSONSpan) -> String {
    var w = JSONWriter()
    d.write(span, to: &w)
    return text(w.bytes)
}

@Suite struct JobDataTests {
    @Test func encodeThenDecode() throws {
        let z = Zlib()
        let stored = encode(#""tasks.add""#, "[1, \"two\"]", #"{"x": {"y": null}}"#, z)
        #expect(Array(stored.prefix(2)) == [0x78, 0x01], "a small job is stored (zlib level 0)")
        #expect(stored.withUnsafeBytes { z.decompress($0) } == utf8(#"["tasks.add",null,[1, "two"],{"x": {"y": null}}]"#))
        let d = try #require(decode(stored, z))
        #expect(part(d, d.function) == #""tasks.add""#)
        #expect(part(d, d.args) == "[1, \"two\"]")
        #expect(part(d, d.kwargs) == #"{"x": {"y": null}}"#)
        #expect(d.json.withUnsafeBytes { d.function.string(in: $0) } == "tasks.add")
    }

    @Test func missingArgsAndKwargsBecomeEmpty() throws {
        let z = Zlib()
        let stored = encode(#""f""#, nil, nil, z)
        #expect(stored.withUnsafeBytes { z.decompress($0) } == utf8(#"["f",null,[],{}]"#))
        let d = try #require(decode(stored, z))
        #expect(part(d, d.args) == "[]")
        #expect(part(d, d.kwargs) == "{}")
    }

    @Test func escapedFunctionNamesSurvive() throws {
        let z = Zlib()
        let d = try #require(decode(encode(#""mod.f\u00e9""#, "[]", "{}", z), z))
        #expect(d.function.escaped)
        #expect(d.json.withUnsafeBytes { d.function.string(in: $0) } == "mod.fé")
    }

    @Test func readsPythonRQData() throws {
        // zlib.compress(json.dumps(["tasks.add", None, [1, 2], {"x": "y"}], separators=(",", ":")).encode())
        let python: [UInt8] = [
            120, 156, 139, 86, 42, 73, 44, 206, 46, 214, 75, 76, 73, 81, 210, 201, 43, 205, 201, 209, 137, 54, 212, 49,
            138, 213, 169, 86, 170, 80, 178, 82, 170, 84, 170, 141, 5, 0, 194, 124, 10, 171,
        ]
        let d = try #require(decode(python, Zlib()))
        #expect(part(d, d.function) == #""tasks.add""#)
        #expect(part(d, d.args) == "[1,2]")
        #expect(part(d, d.kwargs) == #"{"x":"y"}"#)
    }

    @Test func uncompressedJSONIsAcceptedToo() throws {
        let z = Zlib()
        let d = try #require(decode(utf8(#" ["f", {"any": "thing"}, [1], {"k": 2}] "#), z))
        #expect(part(d, d.function) == #""f""#)
        #expect(part(d, d.args) == "[1]")
        #expect(part(d, d.kwargs) == #"{"k": 2}"#)
    }

    @Test(arguments: [
        #"["f",null,[]]"#,  // three elements
        #"["f",null,[],{},5]"#,  // five elements
        #"[1,null,[],{}]"#,  // func not a string
        #"[null,null,[],{}]"#,
        #"["f",null,{},{}]"#,  // args not an array
        #"["f",null,[],[]]"#,  // kwargs not an object
        #"{"func":"f"}"#,  // not an array
        #"["f",null,[],{}"#,  // truncated
        "",
    ])
    func rejectsOtherShapes(_ json: String) {
        let z = Zlib()
        #expect(decode(utf8(json), z) == nil, "plain: \(json)")
        #expect(decode(z.compress(utf8(json)), z) == nil, "compressed: \(json)")
    }

    @Test func rejectsPicklesAndGarbage() {
        let z = Zlib()
        // The start of a pickle protocol 4 payload, as RQ's default serializer writes.
        #expect(decode([0x80, 0x04, 0x95, 0x1D, 0x00, 0x00, 0x00], z) == nil)
        #expect(decode(z.compress([0x80, 0x04, 0x95, 0x1D]), z) == nil)
        var truncated = encode(#""f""#, nil, nil, z)
        truncated.removeLast(3)
        #expect(decode(truncated, z) == nil)
    }
}
