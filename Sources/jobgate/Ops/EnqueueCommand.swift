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

    @Option(name: [.short, .long], help: "The queue to put the job on.")
    var queue: String

    @Option(help: "Your own job id (a DUPLICATE error if it exists). Default: a new uuid4.")
    var id: String?

    @Option(help: ArgumentHelp("Seconds from now before the job may run.", valueName: "seconds"))
    var delay: String?

    @Option(help: ArgumentHelp("When the job may run: Unix seconds or RFC 3339 (2026-11-22T09:30:00Z).", valueName: "time"))
    var at: String?

    @Option(help: "Failed attempts to retry before the job is failed.")
    var retries: Int?

    @Option(name: .customLong("retry-intervals"), help: ArgumentHelp(
        "Seconds to wait before each retry, comma-separated (RQ's rule picks one per retry).", valueName: "s,s,..."))
    var retryIntervals: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The job's lease length in seconds when a worker gives none; -1 is RQ's \"no limit\".", valueName: "seconds"))
    var timeout: Int?

    @Option(name: .customLong("result-ttl"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds to keep the result (0 deletes the job when done, -1 keeps it).", valueName: "seconds"))
    var resultTTL: Int?

    @Option(name: .customLong("failure-ttl"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds to keep the job once failed (-1 keeps it).", valueName: "seconds"))
    var failureTTL: Int?

    @Option(name: .customLong("ttl"), help: ArgumentHelp("Seconds the job may wait in its queue.", valueName: "seconds"))
    var queueTTL: Int?

    @Option(name: .customLong("description"), help: "Free text shown by RQ's tools.")
    var jobDescription: String?

    @Option(help: ArgumentHelp("Free JSON object kept with the job.", valueName: "json"))
    var meta: String?

    @Option(help: ArgumentHelp("Keyword arguments, a JSON object.", valueName: "json"))
    var kwargs: String?

    @Option(name: .customLong("depends-on"), help: ArgumentHelp("A job that must finish first (repeatable).", valueName: "id"))
    var dependsOn: [String] = []

    @Flag(name: .customLong("at-front"), help: "Put the job at the head of its queue.")
    var atFront = false

    @Option(name: .customLong("io-timeout"), help: ArgumentHelp("Seconds to wait to connect and for the reply.", valueName: "seconds"))
    var ioTimeout: Double = defaultReplyTimeout

    @Argument(help: ArgumentHelp("The function to call, e.g. app.tasks.resize.", valueName: "func"))
    var function: String

    @Argument(help: ArgumentHelp("Positional arguments: JSON when valid, else strings.", valueName: "arg"))
    var arguments: [String] = []

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
        request.set("queue", string: queue)
        request.set("func", string: function)
        if !arguments.isEmpty {
            // Valid JSON is passed through untouched; anything else becomes a JSON string.
            request.set("args", array: arguments.map { JSONScanner.kind(of: $0) != nil ? .rawJSON($0) : .string($0) })
        }
        if let kwargs { request.set("kwargs", .rawJSON(try jsonObject(kwargs, option: "--kwargs"))) }
        if let id { request.set("id", string: id) }
        if let delay { request.set("delay", .rawJSON(try jsonNumber(delay, option: "--delay"))) }
        if let at {
            // Unix seconds go as a number, anything else as RFC 3339 text for the gateway to check.
            request.set("at", JSONScanner.kind(of: at) == .number ? .rawJSON(at) : .string(at))
        }
        if let retries { request.set("retries", int: retries) }
        if let retryIntervals {
            let numbers = try retryIntervals.split(separator: ",", omittingEmptySubsequences: false)
                .map { try jsonNumber(String($0), option: "--retry-intervals") }
            request.set("retry_intervals", array: numbers.map(RequestLine.Value.rawJSON))
        }
        if let timeout { request.set("timeout", int: timeout) }
        if let resultTTL { request.set("result_ttl", int: resultTTL) }
        if let failureTTL { request.set("failure_ttl", int: failureTTL) }
        if let queueTTL { request.set("ttl", int: queueTTL) }
        if let jobDescription { request.set("description", string: jobDescription) }
        if let meta { request.set("meta", .rawJSON(try jsonObject(meta, option: "--meta"))) }
        if !dependsOn.isEmpty { request.set("depends_on", array: dependsOn.map(RequestLine.Value.string)) }
        if atFront { request.set("at_front", bool: true) }
        return request
    }

    private func jsonObject(_ text: String, option: String) throws -> String {
        guard JSONScanner.kind(of: text) == .object else {
            throw OpsFailure.usage("\(option) must be a JSON object, e.g. {\"key\":1}; got \(text)")
        }
        return text
    }

    private func jsonNumber(_ text: String, option: String) throws -> String {
        let trimmed = text.trimmingSpaces
        guard JSONScanner.kind(of: trimmed) == .number else {
            throw OpsFailure.usage("\(option) expects a number of seconds; got '\(text)'")
        }
        return trimmed
    }
}

private extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
