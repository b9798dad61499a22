import ArgumentParser

extension Serve {
    /// The settings are checked while the command line is parsed, so a bad value is reported
    /// with `jobgate serve`'s usage ("See 'jobgate serve --help'"): an error thrown later, from
    /// `run`, gets the top-level usage instead. `run` builds them again to use them.
    func validate() throws {
        _ = try Settings(self)
    }
}
