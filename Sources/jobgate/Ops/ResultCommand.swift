import ArgumentParser
import JobgateServer

struct ResultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result",
        abstract: "Print a job's result, waiting up to --wait seconds for it to finish.",
        discussion: """
            A finished job's result goes to stdout as `jobgate job` shows it: a string bare, \
            null as -, anything else as compact JSON (exit 0; --json prints the whole reply). A job that failed, was canceled or \
            stopped prints its error on stderr as `jobgate: FAILED: ...` (exit 1). A job still \
            not done when --wait runs out prints `jobgate: TIMEOUT: ...` (exit 4).

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Option(help: ArgumentHelp("Seconds to wait for the job to finish (0 to 60).", valueName: "seconds"))
    var wait: Double = 0

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "result")
            request.set("id", string: id)
            if wait > 0 { request.set("wait", .rawJSON(String(wait))) }
            // The reply comes once the job is done or `wait` is over, so the reply timeout adds it.
            let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds + wait).call(request)
            let job = reply.object("job") ?? [:]
            let state = job["state"] as? String ?? "unknown"
            guard reply.fields["done"] as? Bool == true else {
                throw OpsFailure(code: OpsFailure.timedOut, message: "job \(id) is still \(state) after \(plainNumber(wait)) s")
            }
            if state != "finished" {
                let error = job["error"] is String ? ": " + FailedCommand.lastLine(of: job["error"] as? String) : ""
                throw OpsFailure(code: "FAILED", message: "job \(id) is \(state)\(error)")
            }
            if !gateway.json { print(displayText(job["result"])) }
        }
    }
}
