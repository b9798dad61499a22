import Testing
@testable import JobgateServer

/// Swift and Lua agree on every script's arguments and rows by name: a name a Lua file uses
/// must be in the script's layout, and every name in the layout must be used.
@Suite struct ScriptLayoutTests {
    /// The `A.name` or `R.name` references in a script's body.
    private func references(_ table: String, in body: [UInt8]) -> Set<String> {
        let text = String(decoding: body, as: UTF8.self)
        var names = Set<String>()
        var rest = Substring(text)
        while let found = rest.firstRange(of: table + ".") {
            let before = found.lowerBound == text.startIndex ? " " : text[text.index(before: found.lowerBound)]
            let name = rest[found.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !(before.isLetter || before.isNumber || before == "_" || before == ".") { names.insert(String(name)) }
            rest = rest[found.upperBound...]
        }
        return names
    }

    @Test(arguments: Gateway.scripts.map(\.name))
    func luaUsesExactlyTheDeclaredNames(_ name: String) {
        let script = Gateway.scripts.first { $0.name == name }!
        let arguments = references("A", in: script.body).subtracting(["tail"])
        #expect(arguments == Set(script.arguments), "\(name).lua's A.* names")
        #expect(references("R", in: script.body) == Set(script.rowFields), "\(name).lua's R.* names")
    }

    @Test func everyScriptIsLoadedOnceAndNamesAreUnique() {
        let names = Gateway.scripts.map(\.name)
        #expect(Set(names).count == names.count)
        for script in Gateway.scripts {
            #expect(Set(script.arguments).count == script.arguments.count && Set(script.rowFields).count == script.rowFields.count)
        }
        let source = String(decoding: CombinedScripts(Gateway.scripts).library, as: UTF8.self)
        for name in names { #expect(source.contains("if op == '\(name)' then\n")) }
    }

    @Test func theLibraryAndThePlainScriptShareTheirLineNumbers() {
        let scripts = CombinedScripts(Gateway.scripts)
        let library = String(decoding: scripts.library, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let plain = String(decoding: scripts.plain, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(library.count == plain.count)
        #expect(library.dropFirst().dropLast(2) == plain.dropFirst().dropLast(2))
        #expect(library.first.map(String.init) == "#!lua name=\(scripts.name)")
        #expect(scripts.name.count == "jobgate_".count + 16 && scripts.name.hasPrefix("jobgate_"))
        #expect(plain[plain.count - 2] == "return dispatch(ARGV)")
    }

    @Test func aHeartbeatNeverSharesACallWithWritesAndReadsJoinAnything() {
        #expect(Script.Access.heartbeats.joined(.writes) == nil && Script.Access.writes.joined(.heartbeats) == nil)
        #expect(Script.Access.reads.joined(.writes) == .writes && Script.Access.writes.joined(.reads) == .writes)
        #expect(Script.Access.reads.joined(.heartbeats) == .heartbeats && Script.Access.reads.joined(.reads) == .reads)
        #expect(Heartbeat.script.access == .heartbeats && JobLookup.script.access == .reads && Ack.script.access == .writes)
    }

    @Test func headerNumbersTheNamesFromOne() {
        let header = String(decoding: Lease.script.header, as: UTF8.self)
        #expect(header.contains("local A = {count = 1, lease_for = 2, worker = 3, peer = 4, queue_count = 5, tail = 6}"))
        #expect(header.contains("local R = {id = 1, queue = 2, data = 3,"))
        #expect(header.contains("local function add_row(rows) local at = #rows rows[at + 1] = false "))
        #expect(header.contains("rows[at + \(Lease.Row.allCases.count)] = false return at end"))
        let single = String(decoding: Fail.script.header, as: UTF8.self)
        #expect(single.contains("local function new_row() return {" + Array(repeating: "false", count: Fail.Row.allCases.count).joined(separator: ", ") + "} end"))
    }

    @Test func opTableNamesAreUniqueAndMetricsFollowIt() {
        let names = Gateway.ops.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Counters.opNames == names + ["unknown"])
        #expect(Gateway.ops.filter(\.beforeAuth).map(\.name).sorted() == ["auth", "quit"])
    }
}
