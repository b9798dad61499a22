import ArgumentParser
import JobgateServer

/// `jobgate version`, for those who try the word before the flag; prints what `--version` does.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print jobgate's version.")

    func run() {
        print(jobgateVersion)
    }
}
