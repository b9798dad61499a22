@testable import JobgateServer

/// The scanner must accept or reject any bytes without trapping, and what it accepts must hold
/// together: the object and array walks agree with `validate`, every span lies inside the input,
/// and every string it decodes survives a round trip through `JSONWriter`.
func fuzzJSONScanner(_ input: UnsafeRawBufferPointer) {
    let top: JSONSpan
    do {
        top = try JSONScanner.validate(input)
    } catch let error as JSONSyntaxError {
        if error.offset < 0 || error.offset > input.count { fuzzFailure("syntax error offset \(error.offset) outside the input", input) }
        return
    } catch {
        fuzzFailure("validate threw \(error), not a JSONSyntaxError", input)
    }
    checkSpan(top, input)
    switch top.kind {
    case .object:
        var members: [JSONSpan] = []
        checkAccepted(input) { try JSONScanner.scanObject(input) { k, v in members += [k, v] } }
        var again: [JSONSpan] = []
        checkAccepted(input) { try JSONScanner.members(of: top, in: input) { k, v in again += [k, v] } }
        if members != again { fuzzFailure("scanObject and members(of:) disagree", input) }
        for (i, span) in members.enumerated() {
            if i % 2 == 0 && span.kind != .string { fuzzFailure("an object key that is not a string", input) }
            checkSpan(span, input)
        }
    case .array:
        var elements: [JSONSpan] = []
        checkAccepted(input) { try JSONScanner.scanArray(input) { elements.append($0) } }
        var again: [JSONSpan] = []
        checkAccepted(input) { try JSONScanner.elements(of: top, in: input) { again.append($0) } }
        if elements != again { fuzzFailure("scanArray and elements(of:) disagree", input) }
        for span in elements { checkSpan(span, input) }
    default:
        break
    }
}

private func checkAccepted(_ input: UnsafeRawBufferPointer, _ walk: () throws -> Void) {
    do { try walk() } catch { fuzzFailure("validate accepted what a walk rejects: \(error)", input) }
}

private func checkSpan(_ span: JSONSpan, _ input: UnsafeRawBufferPointer) {
    guard span.start >= 0, span.start < span.end, span.end <= input.count else {
        fuzzFailure("span \(span.start)..<\(span.end) outside the input", input)
    }
    switch span.kind {
    case .string: checkStringRoundTrip(span, input)
    case .number: _ = span.double(in: input)
    default: break
    }
}

/// A decoded string written back as JSON must validate and decode to the same bytes.
private func checkStringRoundTrip(_ span: JSONSpan, _ input: UnsafeRawBufferPointer) {
    let decoded = span.stringBytes(in: input)
    var writer = JSONWriter()
    writer.string(decoded)
    let written = writer.bytes
    written.withUnsafeBytes { text in
        guard let again = try? JSONScanner.validate(text), again.kind == .string else {
            fuzzFailure("JSONWriter wrote a string the scanner rejects: \(String(decoding: text, as: UTF8.self).debugDescription)", input)
        }
        if again.stringBytes(in: text) != decoded { fuzzFailure("a string changed in a write/read round trip", input) }
    }
}
