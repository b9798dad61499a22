/// `delete`: a job and every trace of it go, whatever its state; a lease on it ends too.
/// `{"op":"delete","id":ID}` -> `{"ok":true,"state":"deleted"}`, or NOT_FOUND
enum Delete: JobStateChange {
    static let script = Script("delete", PackageResources.delete_lua, arguments: JobArgument.names, writes: true)
}
