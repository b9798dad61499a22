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

/// Redis reports a Lua error by its line in the scripts the gateway loads (`user_function:412`),
/// which are put together from every op's file; this prints them so the line can be found.
struct DebugScriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "script",
        abstract: "Print the Lua function library the gateway loads into Redis, with line numbers.",
        discussion: """
            A Lua error from Redis names a line of this library (`user_function:412: ...`). \
            Where Redis has no functions, the gateway loads the same lines as a plain script \
            (`user_script:412`), which --plain prints. \
            bench/run's redis-lua target loads each op's script on its own, as --standalone NAME --raw prints it.
            """)

    @Flag(help: "Print the scripts' names, one per line.")
    var list = false

    @Option(help: ArgumentHelp("Print this script alone, whole: the prelude, its names, its body.", valueName: "name"))
    var standalone: String?

    @Flag(help: "Print the plain script (EVAL) instead of the function library.")
    var plain = false

    @Flag(help: "Print the script without line numbers.")
    var raw = false

    func validate() throws {
        if list && (standalone != nil || raw || plain) { throw ValidationError("--list takes no other option") }
        if plain && standalone != nil { throw ValidationError("--plain and --standalone exclude each other") }
        if let standalone, Self.script(named: standalone) == nil {
            throw ValidationError("no script named '\(standalone)'; --list shows them")
        }
    }

    func run() {
        if list {
            for script in Gateway.scripts { print(script.name) }
            return
        }
        let combined = CombinedScripts(Gateway.scripts)
        let source = standalone.flatMap(Self.script(named:))?.standalone ?? (plain ? combined.plain : combined.library)
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
