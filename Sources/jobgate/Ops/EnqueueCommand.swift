import ArgumentParser
import JobgateServer

struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Create a job and print its id.",
        discussion: """
            Each ARG is sent as JSON when it is valid JSON (42, true, null, "text", [1,2], {"k":1}) \
            and as a string otherwise, so `jobgate enqueue -q mail mail.send ada@example.com 3` \
            calls mail.send("ada@example.com", 3). Put `--` before arguments that start with a dash.

            Here --timeout is the job's timeout, as in the protocol; use --io-timeout for how long \
            to wait for the gateway.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions

    @OptionGroup var job: JobOptions

    @Option(help: "Your own job id (a DUPLICATE error if it exists). Default: a new uuid4.")
    var id: String?

    @Option(help: ArgumentHelp("Seconds from now before the job may run.", valueName: "seconds"))
    var delay: String?

    @Option(help: ArgumentHelp("When the job may run: Unix seconds or RFC 3339 (2026-11-22T09:30:00Z).", valueName: "time"))
    var at: String?

    @Option(name: .customLong("depends-on"), help: ArgumentHelp("A job that must finish first (repeatable).", valueName: "id"))
    var dependsOn: [String] = []

    @Option(name: .customLong("io-timeout"), help: ArgumentHelp("Seconds to wait to connect and for the reply.", valueName: "seconds"))
    var ioTimeout: Double = defaultReplyTimeout

    func run() throws {
        try reportingFailures {
            let request = try buildRequest()
            let reply = try GatewaySession(gateway, timeoutSeconds: ioTimeout).call(request)
            if !gateway.json { print(reply.string("id") ?? "-") }
        }
    }

    func buildRequest() throws -> RequestLine {
        if delay != nil && at != nil { throw OpsFailure.usage("give --delay or --at, not both") }
        var request = RequestLine(op: "enqueue")
        request.set("queue", string: job.queue)
        try job.apply(to: &request)
        if let id { request.set("id", string: id) }
        if let delay { request.set("delay", .rawJSON(try JobOptions.jsonNumber(delay, option: "--delay"))) }
        if let at {
            // Unix seconds go as a number, anything else as RFC 3339 text for the gateway to check.
            request.set("at", JSONScanner.kind(of: at) == .number ? .rawJSON(at) : .string(at))
        }
        if !dependsOn.isEmpty { request.set("depends_on", array: dependsOn.map(RequestLine.Value.string)) }
        return request
    }
}
