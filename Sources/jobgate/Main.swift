extension Jobgate {
    /// Parses the command line, then hides the secrets in it from `ps` before anything runs.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        HideSecrets.inCommandLine()
        main(arguments)
    }
}
