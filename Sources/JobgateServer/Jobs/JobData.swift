/// RQ's `data` field with the JSON serializer: zlib of `["func", null, args, kwargs]`. Built by
/// splicing the request's own bytes, and read back as spans, never as a tree.
struct JobData {
    let json: [UInt8]
    let function: JSONSpan
    let args: JSONSpan
    let kwargs: JSONSpan

    static func encode(function: UnsafeRawBufferPointer, args: UnsafeRawBufferPointer?, kwargs: UnsafeRawBufferPointer?,
                       zlib: Zlib) -> [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(function.count + (args?.count ?? 2) + (kwargs?.count ?? 2) + 10)
        json.append(UInt8(ascii: "["))
        json.append(contentsOf: function)
        json.append(contentsOf: ",null,".utf8)
        if let args { json.append(contentsOf: args) } else { json.append(contentsOf: "[]".utf8) }
        json.append(UInt8(ascii: ","))
        if let kwargs { json.append(contentsOf: kwargs) } else { json.append(contentsOf: "{}".utf8) }
        json.append(UInt8(ascii: "]"))
        return zlib.compress(json)
    }

    /// Reads a stored `data` value. Like RQ, accepts uncompressed JSON when it is not zlib.
    /// Nil when it is not a JSON `[string, any, array, object]` (e.g. a pickle from a default RQ producer).
    static func decode(_ stored: UnsafeRawBufferPointer, zlib: Zlib) -> JobData? {
        let json = zlib.decompress(stored) ?? Array(stored)
        return json.withUnsafeBytes { b -> JobData? in
            var parts: [JSONSpan] = []
            do {
                try JSONScanner.scanArray(b) { parts.append($0) }
            } catch {
                return nil
            }
            guard parts.count == 4, parts[0].kind == .string, parts[2].kind == .array, parts[3].kind == .object else {
                return nil
            }
            return JobData(json: json, function: parts[0], args: parts[2], kwargs: parts[3])
        }
    }

    func write(_ span: JSONSpan, to w: inout JSONWriter) {
        json.withUnsafeBytes { w.raw(span.bytes(in: $0)) }
    }
}
