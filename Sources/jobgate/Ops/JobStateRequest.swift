import ArgumentParser

/// The arguments of the commands that move one job (`cancel`, `delete`), and their request:
/// `{"op": op, "id": id}`, answered by printing `ID: STATE`.
struct JobStateRequest: ParsableArguments {
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The job id.")
    var id: String

    func send(_ op: String) throws {
        try reportingFailures {
            let reply = try gateway.call(op, "id", id, timeout: timeout)
            if !gateway.json { print("\(id): \(reply.string("state") ?? "-")") }
        }
    }
}
