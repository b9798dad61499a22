import Testing
@testable import JobgateServer

/// Parses `line` as a request and runs `body` on it while the bytes are alive.
private func withRequest<R>(_ line: String, _ body: (inout Request) throws -> R) throws -> R {
    let bytes = utf8(line)
    return try bytes.withUnsafeBytes { buf in
        var r = try Request(line: buf)
        return try body(&r)
    }
}

/// The OpError a request line (or something done with it) fails with.
private func failure(_ line: String, _ body: (inout Request) throws -> Void = { _ in }) -> OpError? {
    do {
        try withRequest(line, body)
        return nil
    } catch let e as OpError {
        return e
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

private func fields(_ n: Int) -> String {
    "{" + (0..<n).map { "\"f\($0)\":\($0)" }.joined(separator: ",") + "}"
}

@Suite struct RequestParsingTests {
    @Test func opAndRefAreCaptured() throws {
        try withRequest(#"{"op":"enqueue","ref":{"a":[1]},"queue":"q"}"#) { r throws in
            #expect(r.op == "enqueue")
            let ref = try #require(r.ref)
            #expect(ref.kind == .object)
            #expect(text(Array(ref.bytes(in: r.line))) == #"{"a":[1]}"#)
        }
        try withRequest(#"{"ref":"r-1","op":"ping"}"#) { r throws in
            #expect(r.op == "ping")
            #expect(r.ref.map { text(Array($0.bytes(in: r.line))) } == #""r-1""#)
        }
        try withRequest(#"{"op":"p\u0069ng"}"#) { r in #expect(r.op == "ping", "op is unescaped") }
        try withRequest(#"{"\u006fp":"ping"}"#) { r in #expect(r.op == "ping", "escaped keys match") }
    }

    @Test func missingOrNonStringOpIsNil() throws {
        try withRequest(#"{"ref":7}"#) { r throws in
            #expect(r.op == nil)
            #expect(r.ref?.kind == .number, "ref is still captured for the error reply")
        }
        try withRequest(#"{"op":5,"ref":null}"#) { r throws in
            #expect(r.op == nil)
            #expect(r.ref?.kind == .null, "a null ref is still a ref")
        }
        try withRequest(#"{"op":null}"#) { r in #expect(r.op == nil) }
        try withRequest("{}") { r throws in
            #expect(r.op == nil)
            #expect(r.ref == nil)
        }
    }

    @Test func malformedLinesAreBadRequests() {
        let e1 = failure(#"{"op":}"#)
        #expect(e1?.code == .badRequest)
        #expect(e1?.message == "malformed JSON at byte 6: unexpected character")
        let e2 = failure("[1]")
        #expect(e2?.code == .badRequest)
        #expect(e2?.message == "malformed JSON at byte 0: a request must be a JSON object")
        #expect(failure(#"{"op":"ping"} x"#)?.message == "malformed JSON at byte 14: unexpected data after the JSON value")
        #expect(failure("")?.code == .badRequest)
        let invalidUTF8: [UInt8] = utf8(#"{"op":""#) + [0xC3, 0x28] + utf8(#""}"#)
        let e3: OpError? = invalidUTF8.withUnsafeBytes { buf -> OpError? in
            do throws(OpError) { _ = try Request(line: buf); return nil } catch { return error }
        }
        #expect(e3?.message == "malformed JSON at byte 8: invalid UTF-8")
    }

    @Test func atMostSixtyFourFields() throws {
        try withRequest(fields(64)) { r throws in
            #expect(try r.integer("f63", in: 0...100) == 63)
        }
        let e = failure(fields(65))
        #expect(e?.code == .badRequest)
        #expect(e?.message == "more than 64 fields")
    }
}

@Suite struct RequestFieldTests {
    @Test func stringsAndNullAsAbsent() throws {
        try withRequest(#"{"op":"x","queue":"em\u00e9ils","id":null}"#) { r throws in
            #expect(try r.string("queue") == "eméils")
            #expect(try r.string("id") == nil)
            #expect(try r.string("nope") == nil)
            #expect(try r.requiredString("queue") == "eméils")
        }
        #expect(failure(#"{"op":"x"}"#) { r in _ = try r.requiredString("queue") }?.message == "missing field 'queue'")
        #expect(failure(#"{"op":"x","queue":null}"#) { r in _ = try r.requiredString("queue") }?.message
                == "missing field 'queue'")
    }

    @Test func wrongTypesNameBothKinds() {
        let cases: [(String, (inout Request) throws -> Void, String)] = [
            (#"{"queue":5}"#, { _ = try $0.string("queue") }, "field 'queue' must be a string, not a number"),
            (#"{"wait":"5"}"#, { _ = try $0.number("wait") }, "field 'wait' must be a number, not a string"),
            (#"{"flag":1}"#, { _ = try $0.bool("flag") }, "field 'flag' must be a boolean, not a number"),
            (#"{"queue":true}"#, { _ = try $0.string("queue") }, "field 'queue' must be a string, not a boolean"),
            (#"{"queue":[]}"#, { _ = try $0.string("queue") }, "field 'queue' must be a string, not an array"),
            (#"{"args":{"to":"x"}}"#, { _ = try $0.raw("args", .array) }, "field 'args' must be an array, not an object"),
            (#"{"v":false}"#, { _ = try $0.spanIfPresent("v", .object, .array) }, "field 'v' must be an object or an array, not a boolean"),
            (#"{"v":"s"}"#, { _ = try $0.spanIfPresent("v", .true, .false, .number) }, "field 'v' must be a boolean or a number, not a string"),
        ]
        for (line, read, message) in cases {
            let e = failure(line, read)
            #expect(e?.code == .badRequest, "\(line)")
            #expect(e?.message == message, "\(line)")
        }
    }

    @Test func numbersAndRanges() throws {
        try withRequest(#"{"wait":2.5,"count":10,"ttl":1e2,"neg":-1,"flt":3.0}"#) { r throws in
            #expect(try r.number("wait") == 2.5)
            #expect(try r.number("nope") == nil)
            #expect(try r.integer("count", in: 1...1000) == 10)
            #expect(try r.integer("ttl", in: 1...1000) == 100)
            #expect(try r.integer("neg", in: -1...10) == -1)
            #expect(try r.integer("flt", in: 0...5) == 3)
            #expect(try r.number("wait", in: 0...60) == 2.5)
        }
        let msgs: [(String, (inout Request) throws -> Void, String)] = [
            (#"{"n":1e400}"#, { _ = try $0.number("n") }, "field 'n' is out of range"),
            (#"{"n":-1e400}"#, { _ = try $0.integer("n", in: 0...5) }, "field 'n' is out of range"),
            (#"{"n":61}"#, { _ = try $0.number("n", in: 0...60) }, "field 'n' must be between 0 and 60"),
            (#"{"n":2}"#, { _ = try $0.number("n", in: 0.5...1.5) }, "field 'n' must be between 0.5 and 1.5"),
            (#"{"n":1.5}"#, { _ = try $0.integer("n", in: 1...5) }, "field 'n' must be an integer between 1 and 5"),
            (#"{"n":0}"#, { _ = try $0.integer("n", in: 1...5) }, "field 'n' must be an integer between 1 and 5"),
            (#"{"n":6}"#, { _ = try $0.integer("n", in: 1...5) }, "field 'n' must be an integer between 1 and 5"),
            (#"{"n":-2}"#, { _ = try $0.integer("n", in: -1...2147483647) }, "field 'n' must be an integer between -1 and 2147483647"),
        ]
        for (line, read, message) in msgs {
            #expect(failure(line, read)?.message == message, "\(line)")
        }
    }

    @Test func booleans() throws {
        try withRequest(#"{"a":true,"b":false,"c":null}"#) { r throws in
            #expect(try r.bool("a") == true)
            #expect(try r.bool("b") == false)
            #expect(try r.bool("c") == nil)
            #expect(try r.bool("d") == nil)
        }
    }

    @Test func rawKeepsTheSentBytes() throws {
        try withRequest(#"{"args":[1, "two" ,{}],"kwargs":null,"meta":{"k" : 1},"any":"s"}"#) { r throws in
            #expect(try r.raw("args", .array).map { text(Array($0)) } == #"[1, "two" ,{}]"#)
            #expect(try r.raw("kwargs", .object) == nil, "null with kinds is absent")
            #expect(try r.raw("kwargs").map { text(Array($0)) } == "null", "with no kinds anything goes, null too")
            #expect(try r.raw("meta", .object).map { text(Array($0)) } == #"{"k" : 1}"#)
            #expect(try r.raw("any").map { text(Array($0)) } == #""s""#)
            #expect(try r.raw("missing") == nil)
        }
    }
}

@Suite struct RequestUnknownFieldTests {
    @Test func allFieldsReadIsFine() throws {
        try withRequest(#"{"op":"enqueue","ref":1,"queue":"q","args":[]}"#) { r throws in
            _ = try r.string("queue")
            _ = try r.raw("args", .array)
            try r.rejectUnknownFields()
        }
        // Asking for a field counts even when it is null.
        try withRequest(#"{"op":"x","queue":null}"#) { r throws in
            _ = try r.string("queue")
            try r.rejectUnknownFields()
        }
    }

    @Test func unreadFieldsAreNamed() {
        let e = failure(#"{"op":"enqueue","queue":"q","priority":5}"#) { r throws in
            _ = try r.string("queue")
            try r.rejectUnknownFields()
        }
        #expect(e?.code == .badRequest)
        #expect(e?.message == "field 'priority' is unknown for op 'enqueue'")
    }

    @Test func repeatedFieldsAreRejected() {
        let e = failure(#"{"op":"ack","id":"a","id":"b"}"#) { r throws in
            #expect(try r.string("id") == "a", "the first occurrence is the one read")
            try r.rejectUnknownFields()
        }
        #expect(e?.message == "field 'id' appears more than once")
        let dupOp = failure(#"{"op":"ack","op":"nack"}"#) { r in try r.rejectUnknownFields() }
        #expect(dupOp?.message == "field 'op' appears more than once")
    }

    @Test func unknownFieldNamesAreUnescaped() {
        let e = failure(#"{"op":"x","pr\u0069o":1}"#) { r in try r.rejectUnknownFields() }
        #expect(e?.message == "field 'prio' is unknown for op 'x'")
    }

    @Test func nonStringOrMissingOpIsExplained() throws {
        try withRequest(#"{"op":1}"#) { r in
            #expect(r.op == nil)
            #expect(r.opProblem.message == "field 'op' must be a string, not a number")
        }
        try withRequest(#"{"queue":"q"}"#) { r in
            #expect(r.opProblem.message == "missing field 'op' (the operation, e.g. \"enqueue\")")
        }
    }

    /// The used-fields mask is 64 bits wide: the 64th field must be tracked like the first.
    @Test func everyOneOfSixtyFourFieldsIsTracked() {
        let names: [StaticString] = [
            "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13", "f14", "f15",
            "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23", "f24", "f25", "f26", "f27", "f28", "f29",
            "f30", "f31", "f32", "f33", "f34", "f35", "f36", "f37", "f38", "f39", "f40", "f41", "f42", "f43",
            "f44", "f45", "f46", "f47", "f48", "f49", "f50", "f51", "f52", "f53", "f54", "f55", "f56", "f57",
            "f58", "f59", "f60", "f61", "f62", "f63"
        ]
        #expect(failure(fields(64)) { r in try r.rejectUnknownFields() }?.message == "field 'f0' is unknown")
        let last = failure(fields(64)) { r throws in
            for name in names.dropLast() { _ = try r.raw(name) }
            try r.rejectUnknownFields()
        }
        #expect(last?.message == "field 'f63' is unknown")
        let none = failure(fields(64)) { r throws in
            for name in names.reversed() { _ = try r.number(name) }
            try r.rejectUnknownFields()
        }
        #expect(none == nil, "all 64 fields read")
    }
}

@Suite struct BatchItemRequestTests {
    @Test func nestedObjectsAreReadWithTheSameRules() throws {
        let line = utf8(#"{"op":"enqueue","jobs":[{"func":"f","args":[1]},{"func":"g","prio":1}]}"#)
        try line.withUnsafeBytes { buf throws in
            var outer = try Request(line: buf)
            let jobs = try #require(try outer.spanIfPresent("jobs", .array))
            var items: [JSONSpan] = []
            try JSONScanner.elements(of: jobs, in: buf) { items.append($0) }
            #expect(items.count == 2)

            var first = try Request(object: items[0], in: buf)
            #expect(first.op == nil && first.ref == nil, "op and ref belong to the line, not to items")
            #expect(try first.string("func") == "f")
            #expect(try first.raw("args", .array).map { text(Array($0)) } == "[1]")
            try first.rejectUnknownFields()

            var second = try Request(object: items[1], in: buf)
            #expect(try second.string("func") == "g")
            #expect(throws: OpError.self) { try second.rejectUnknownFields() }
        }
    }

    @Test func itemsWithTooManyFieldsAreRejected() throws {
        let line = utf8("[" + fields(65) + "]")
        let item = try #require(arrayElements(line)?.first)
        let e: OpError? = line.withUnsafeBytes { buf -> OpError? in
            do throws(OpError) { _ = try Request(object: item, in: buf); return nil } catch { return error }
        }
        #expect(e?.message == "more than 64 fields")
    }
}
