/// Names a script's arguments, or the fields of the rows it returns, in order: the case names
/// are the names the Lua file uses (`A.lease_for` for an argument, `R.expires_at` for a row
/// field), and the raw values (0, 1, ...) their places.
public protocol ScriptNames: CaseIterable, RawRepresentable where RawValue == Int, AllCases == [Self] {}

extension ScriptNames {
    static var names: [String] { allCases.map { String(describing: $0) } }
    /// 0-based place of `name` in the layout.
    static func place(of name: Self) -> Int { name.rawValue }
}

/// One Lua file of `lua/`, with its layout. Redis gets every script as one: the prelude, each
/// script as a function behind a header that turns its names into indices (`local A = {id = 1,
/// ...}`), then `dispatch.lua`. So Swift and Lua agree on arguments and rows by name; a Lua
/// name the layout lacks, or a layout name the Lua never uses, fails `ScriptLayoutTests`, and
/// arguments built out of order fail an assertion in a debug build.
public struct Script: Sendable {
    public let name: String
    let body: [UInt8]
    let arguments: [String]
    let rowFields: [String]
    /// The script answers its rows flat, in one list (see `header`), not a table each.
    let flatRows: Bool
    /// Whether it changes Redis (and so must reach the replicas before it is acknowledged when
    /// jobgate waits for them).
    let writes: Bool
    /// May write while Redis is full (maxmemory): a heartbeat rewrites what its lease already
    /// holds, and refusing it would lose a running job to a full Redis.
    let whileFull: Bool

    /// `row`: the fields of the row the script answers, or of each row of a list of them;
    /// `rows`: the fields of each of the rows a batch answers, flat (see `header`).
    init(_ name: String, _ body: [UInt8], arguments: [String] = [], row: [String] = [], rows: [String] = [],
         writes: Bool, whileFull: Bool = false) {
        precondition(row.isEmpty || rows.isEmpty, "a script answers rows of one kind")
        self.name = name
        self.body = body
        self.arguments = arguments
        self.rowFields = row + rows
        self.flatRows = !rows.isEmpty
        self.writes = writes
        self.whileFull = whileFull
    }

    /// What a script may do, which names the library function that runs it: Redis checks a
    /// full Redis against a function's flags before it runs any of it, so a call of writes is
    /// refused whole while reads and heartbeats still run.
    public enum Access: CaseIterable, Sendable {
        case reads, heartbeats, writes

        /// The kind of a batch that holds both; nil when they may not share one (a heartbeat
        /// must not be refused along with writes). Reads go with anything.
        func joined(_ other: Access) -> Access? {
            switch (self, other) {
            case (.heartbeats, .writes), (.writes, .heartbeats): nil
            case (.writes, _), (_, .writes): .writes
            case (.heartbeats, _), (_, .heartbeats): .heartbeats
            default: .reads
            }
        }

        /// The function's name after the library's, and its Redis flags.
        var function: (suffix: String, flags: String) {
            switch self {
            case .reads: ("_reads", "{'no-writes'}")
            case .heartbeats: ("_heartbeats", "{'allow-oom'}")
            case .writes: ("", "{}")
            }
        }
    }

    var access: Access { !writes ? .reads : whileFull ? .heartbeats : .writes }

    /// `local A = {...}` and `local R = {...}`: 1-based indices. `A.tail` is the first index
    /// after the named arguments (a script repeating its arguments per item steps by
    /// `A.tail - 1`; one taking a list after them starts reading there). Then the row maker,
    /// which fills every field with `false` (a nil reply) so that a row is never shorter than
    /// its layout when a field is left unset:
    /// - `new_row()` makes a row table, whole at once (filling `{}` field by field would grow it
    ///   several times);
    /// - with flat rows, `add_row(rows)` appends a row's fields to the list `rows` and returns
    ///   its offset `at`: the row's field f is `rows[at + R.f]`. A batch of 200 jobs then makes
    ///   one table, not 200 (about 0.3 µs of Redis each, plus their collection).
    var header: [UInt8] {
        func table(_ names: [String], tail: Bool) -> String {
            var entries = names.enumerated().map { "\($1) = \($0 + 1)" }
            if tail { entries.append("tail = \(names.count + 1)") }
            return "{" + entries.joined(separator: ", ") + "}"
        }
        let places = 1..<(rowFields.count + 1)
        let maker = rowFields.isEmpty ? ""
            : flatRows ? "local function add_row(rows) local at = #rows " + places.map { "rows[at + \($0)] = false " }.joined() + "return at end\n"
            : "local function new_row() return {" + places.map { _ in "false" }.joined(separator: ", ") + "} end\n"
        return Array("local A = \(table(arguments, tail: true))\nlocal R = \(table(rowFields, tail: false))\n\(maker)".utf8)
    }

    /// The script as Lua that makes its function of ARGV and returns it: the header, then the
    /// body. A body is that function's, or it returns the function itself (its last statement,
    /// at the start of a line, is `return function(ARGV)`): then what comes before is made once,
    /// with the function, and a call pays only for its own work (a hot script's helpers and
    /// constant tables, about 1 µs of Redis a call for enqueue's).
    var maker: [UInt8] {
        let returnsItsFunction = String(decoding: body, as: UTF8.self).contains("\nreturn function(ARGV)\n")
        return header + (returnsItsFunction ? body : Array("return function(ARGV)\n".utf8) + body + Array("\nend".utf8))
            + Array("\n".utf8)
    }

    /// This script alone with the prelude, as a function library of its own that registers
    /// `jobgate_<name>` (the benchmark's Redis-direct target calls these).
    public var standalone: [UInt8] {
        let function = "jobgate_\(name)"
        return Array("#!lua name=\(function)\n".utf8) + PackageResources.prelude_lua
            + Array("\nlocal run = (function()\n".utf8) + maker
            + Array("end)()\nredis.register_function('\(function)', function(_, ARGV)\nbegin_call()\nreturn run(ARGV)\nend)\n".utf8)
    }

    /// Prelude, `run_op(name, ARGV)`, which runs a script by name, then `dispatch(ARGV)`.
    /// `run_op` makes a script's function, with its header's names, the first time it runs it,
    /// and keeps it: a function library pays for its ops only, and a plain script, whose whole
    /// text runs on every EVAL, makes only the scripts the call runs (making all of them would
    /// cost ~14 µs a call). The makers are a few functions of `groupSize` scripts each: Lua 5.1
    /// allows a function 60 upvalues, and one maker of every script would need all the prelude
    /// names any of them uses, while a maker per script would cost as much as making them all.
    static func dispatcher(_ scripts: [Script]) -> [UInt8] {
        // run_op is declared first: a script may run another by name (a schedule's run enqueues).
        var text = PackageResources.prelude_lua + Array("\nlocal run_op\n".utf8)
        var makers: [String] = []
        for first in stride(from: 0, to: scripts.count, by: groupSize) {
            let maker = "make_script_\(makers.count + 1)"
            makers.append(maker)
            text += Array("local function \(maker)(op)\n".utf8)
            for (i, s) in scripts[first..<min(first + groupSize, scripts.count)].enumerated() {
                text += Array("\(i == 0 ? "if" : "elseif") op == '\(s.name)' then\n".utf8) + s.maker
            }
            text += Array("end\nend\n".utf8)
        }
        text += Array("""
            local SCRIPTS = {}
            run_op = function(op, ARGV)
              local run = SCRIPTS[op]
              if not run then
                run = \(makers.map { "\($0)(op)" }.joined(separator: " or "))
                if not run then return redis.error_reply('INTERNAL no script ' .. tostring(op)) end
                SCRIPTS[op] = run
              end
              return run(ARGV)
            end

            """.utf8)
        return text + PackageResources.dispatch_lua
    }

    static let groupSize = 8
}

extension RedisReply {
    /// A row's field by its name in the script's layout.
    public subscript<N: ScriptNames>(_ field: N) -> RedisReply { self[N.place(of: field)] }

    /// The rows of a list a script answers flat (`add_row`), each of the layout `N`.
    public func rows<N: ScriptNames>(_: N.Type) -> FlatRows<N> { FlatRows(list: self) }
}

/// Rows a script answered in one flat list: row i's field f is element i * width + place(f).
public struct FlatRows<N: ScriptNames> {
    let list: RedisReply

    public var count: Int { list.count / N.allCases.count }

    public subscript(i: Int) -> FlatRow<N> { FlatRow(list: list, offset: i * N.allCases.count) }
}

public struct FlatRow<N: ScriptNames> {
    let list: RedisReply
    let offset: Int

    public subscript(_ field: N) -> RedisReply { list[offset + N.place(of: field)] }
}

extension RESPArgs {
    /// Appends the argument `name` of a script's layout. In a debug build, arguments out of
    /// the layout's order stop the gateway at once, so a test that runs the op catches it.
    public mutating func put<N: ScriptNames>(_ name: N, _ value: String) {
        assertPlace(name)
        arg(value)
    }

    public mutating func put<N: ScriptNames>(_ name: N, _ value: [UInt8]) {
        assertPlace(name)
        arg(value)
    }

    public mutating func put<N: ScriptNames>(_ name: N, _ value: Int) { put(name, String(value)) }

    /// Not given: sent as the empty string, which the scripts read as "unset".
    public mutating func put<N: ScriptNames>(_ name: N, _ value: String?) { put(name, value ?? "") }

    public mutating func put<N: ScriptNames>(_ name: N, _ value: Double?) { put(name, value.map { String($0) }) }

    private func assertPlace<N: ScriptNames>(_ name: N) {
        assert((count - opStart) % N.allCases.count == N.place(of: name),
               "argument '\(name)' out of its place in the layout \(N.names)")
    }
}
