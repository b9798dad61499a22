/// `cancel`: a job that has not started is canceled, RQ's way (status canceled, rq:canceled).
/// `{"op":"cancel","id":ID}` -> `{"ok":true,"state":"canceled"}`, or WRONG_STATE
enum Cancel: JobStateChange {
    static let script = Script("cancel", PackageResources.cancel_lua, arguments: JobArgument.names, writes: true)
}
