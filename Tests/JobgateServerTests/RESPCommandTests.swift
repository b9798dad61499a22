import Testing
@testable import JobgateServer

private func resp(_ argCount: Int, _ body: (inout RESPCommand) -> Void) -> String {
    var c = RESPCommand(argCount: argCount)
    body(&c)
    #expect(c.isComplete)
    return text(Array(c.bytes))
}

@Suite struct RESPCommandTests {
    @Test func simpleCommand() {
        #expect(resp(2) { c in c.arg("GET" as StaticString); c.arg("key" as String) } == "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n")
        #expect(resp(1) { $0.arg("PING" as StaticString) } == "*1\r\n$4\r\nPING\r\n")
    }

    @Test func everyArgumentKind() {
        let out = resp(7) { c in
            c.arg("EVALSHA" as StaticString)
            c.arg(-42)
            c.arg(0)
            c.arg(nil as String?)
            c.arg(Optional("q"))
            c.arg([0x0D, 0x0A, 0x00] as [UInt8])
            c.arg("é")
        }
        #expect(out == "*7\r\n$7\r\nEVALSHA\r\n$3\r\n-42\r\n$1\r\n0\r\n$0\r\n\r\n$1\r\nq\r\n$3\r\n\r\n\0\r\n$2\r\né\r\n")
    }

    @Test func rawBufferAndByteArrayArguments() {
        let payload = utf8("binary\r\ndata")
        let out = resp(2) { c in
            payload.withUnsafeBytes { c.arg($0) }
            c.arg(utf8("abcd"))
        }
        #expect(out == "*2\r\n$12\r\nbinary\r\ndata\r\n$4\r\nabcd\r\n")
    }

    @Test func multiDigitCounts() {
        let out = resp(12) { c in for i in 0..<12 { c.arg(i) } }
        #expect(out.hasPrefix("*12\r\n$1\r\n0\r\n"))
        #expect(out.hasSuffix("$2\r\n10\r\n$2\r\n11\r\n"))
        let long = [UInt8](repeating: 0x78, count: 1234)
        var c = RESPCommand(argCount: 1)
        c.arg(long)
        #expect(Array(c.bytes) == utf8("*1\r\n$1234\r\n") + long + utf8("\r\n"))
    }

    @Test func zeroArgumentsAndCompleteness() {
        #expect(resp(0) { _ in } == "*0\r\n")
        var c = RESPCommand(argCount: 2)
        #expect(!c.isComplete)
        c.arg("SET" as StaticString)
        #expect(!c.isComplete)
        c.arg("")
        #expect(c.isComplete)
        #expect(text(Array(c.bytes)) == "*2\r\n$3\r\nSET\r\n$0\r\n\r\n")
    }
}

@Suite struct RESPArgsTests {
    /// A batch's arguments are encoded before the command's count is known, then appended.
    @Test func argsAppendedToACommandCountAsTheirArguments() {
        var batch = RESPArgs()
        batch.arg(7)
        batch.arg("q")
        batch.arg([0x00, 0x0A] as [UInt8])
        #expect(batch.count == 3)
        #expect(text(batch.bytes) == "$1\r\n7\r\n$1\r\nq\r\n$2\r\n\0\n\r\n")
        var c = RESPCommand(argCount: 2 + batch.count)
        c.arg("EVALSHA")
        c.arg("0")
        #expect(!c.isComplete)
        c.append(batch)
        #expect(c.isComplete)
        #expect(text(Array(c.bytes)) == "*5\r\n$7\r\nEVALSHA\r\n$1\r\n0\r\n$1\r\n7\r\n$1\r\nq\r\n$2\r\n\0\n\r\n")
    }

    @Test func emptyArgsAppendNothing() {
        var c = RESPCommand(argCount: 1)
        c.append(RESPArgs())
        c.arg("PING")
        #expect(text(Array(c.bytes)) == "*1\r\n$4\r\nPING\r\n")
    }
}
