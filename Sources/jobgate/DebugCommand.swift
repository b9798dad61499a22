import ArgumentParser
import JobgateServer

/// Looks inside jobgate, for working on it. Hidden: no operator needs it.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Look inside jobgate, for working on it.",
        shouldDisplay: false,
        subcommands: [DebugScriptCommand.self])
}

/// Redis reports a Lua error by its line in the one script the gateway loads (`user_script:412`),
/// which is put together from every op's file; this prints that script so the line can be found.
struct DebugScriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "script",
        abstract: "Print the Lua script the gateway loads into Redis, with line numbers.",
        discussion: """
            A Lua error from Redis names a line of this script (`user_script:412: ...`). \
            bench/run's redis-lua target loads each op's script on its own, as --standalone NAME --raw prints it.
            """)

    @Flag(help: "Print the scripts' names, one per line.")
    var list = false

    @Option(help: ArgumentHelp("Print this script alone, whole: the prelude, its names, its body.", valueName: "name"))
    var standalone: String?

    @Flag(help: "Print the script without line numbers.")
    var raw = false

    func validate() throws {
        if list && (standalone != nil || raw) { throw ValidationError("--list takes no other option") }
        if let standalone, Self.script(named: standalone) == nil {
            throw ValidationError("no script named '\(standalone)'; --list shows them")
        }
    }

    func run() {
        if list {
            for script in Gateway.scripts { print(script.name) }
            return
        }
        let source = standalone.flatMap(Self.script(named:))?.standalone ?? Script.combined(Gateway.scripts)
        let text = String(decoding: source, as: UTF8.self)
        print(raw ? text : Self.numbered(text), terminator: "")
    }

    private static func script(named name: String) -> Script? {
        Gateway.scripts.first { $0.name == name }
    }

    /// As `cat -n` numbers lines: the number right-aligned in six columns, then a tab.
    private static func numbered(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.enumerated().map { index, line in
            let number = String(index + 1)
            return String(repeating: " ", count: max(0, 6 - number.count)) + number + "\t" + line + "\n"
        }.joined()
    }
}
