/// One HTTP/1.x request as the console reads it: the head parsed, the body kept as bytes.
struct HTTPRequest {
    let method: String
    /// The path without its query, percent-decoded.
    let path: String
    let query: [(name: String, value: String)]
    /// Header names in lower case. A header sent twice keeps its first value.
    let headers: [String: String]
    var body: [UInt8] = []

    static let maxHead = 16 * 1024
    static let singleValued: Set<String> = ["content-length", "host"]

    /// Parses the head (everything before the blank line).
    init(head: ArraySlice<UInt8>) throws(HTTPFailure) {
        var lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw HTTPFailure(400, "BAD_REQUEST", "empty request") }
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1."), requestLine[1].hasPrefix("/") else {
            throw HTTPFailure(400, "BAD_REQUEST", "expected a request line like 'GET /path HTTP/1.1'")
        }
        method = String(requestLine[0])
        let target = requestLine[1]
        let questionMark = target.firstIndex(of: "?")
        guard let decodedPath = percentDecoded(target[..<(questionMark ?? target.endIndex)], plusIsSpace: false) else {
            throw HTTPFailure(400, "BAD_REQUEST", "the path has a malformed percent escape")
        }
        path = decodedPath
        query = try questionMark.map { i throws(HTTPFailure) in try formFields(target[target.index(after: i)...]) } ?? []
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPFailure(400, "BAD_REQUEST", "a header line has no ':'") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            // Two lengths or hosts could make the console and a proxy in front of it read
            // different requests from the same bytes.
            if let first = headers[name], first != value, HTTPRequest.singleValued.contains(name) {
                throw HTTPFailure(400, "BAD_REQUEST", "header '\(name)' sent twice with different values")
            }
            if headers[name] == nil { headers[name] = value }
        }
        self.headers = headers
    }

    /// The value of one cookie from the Cookie header.
    func cookie(_ name: String) -> String? {
        guard let header = headers["cookie"] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 && parts[0].trimmingSpaces == name { return parts[1].trimmingSpaces }
        }
        return nil
    }

    func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }
}

/// A request the console refuses before it reaches the gateway: the HTTP status, and the code and
/// message of the JSON error body.
struct HTTPFailure: Error {
    let status: Int
    let code: String
    let message: String

    init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}

/// `a=1&b=x%20y` (a query string or a form body) as name/value pairs.
func formFields(_ text: Substring) throws(HTTPFailure) -> [(name: String, value: String)] {
    var fields: [(name: String, value: String)] = []
    for pair in text.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard let name = percentDecoded(parts[0], plusIsSpace: true),
              let value = percentDecoded(parts.count == 2 ? parts[1] : "", plusIsSpace: true) else {
            throw HTTPFailure(400, "BAD_REQUEST", "a query or form field has a malformed percent escape")
        }
        fields.append((name, value))
    }
    return fields
}

private func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String? {
    var bytes: [UInt8] = []
    var utf8 = text.utf8.makeIterator()
    while let b = utf8.next() {
        switch b {
        case UInt8(ascii: "%"):
            guard let high = utf8.next().flatMap(JSONScanner.hexValue), let low = utf8.next().flatMap(JSONScanner.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        case UInt8(ascii: "+") where plusIsSpace:
            bytes.append(UInt8(ascii: " "))
        default:
            bytes.append(b)
        }
    }
    return String(validating: bytes, as: UTF8.self)
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
