import ArgumentParser
import JobgateServer

/// A job's options, shared by `enqueue` and `schedule` (a schedule's job has no id, delay, at
/// or dependencies, since each run enqueues its own at once: `enqueue` adds those).
struct JobOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "The queue to put each job on.")
    var queue: String

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

    @Flag(name: .customLong("at-front"), help: "Put the job at the head of its queue.")
    var atFront = false

    @Argument(help: ArgumentHelp("The function to call, e.g. app.tasks.resize.", valueName: "func"))
    var function: String

    @Argument(help: ArgumentHelp("Positional arguments: JSON when valid, else strings.", valueName: "arg"))
    var arguments: [String] = []

    /// The job as a JSON object, with the JSON the user typed passed on byte for byte.
    func jobObject() throws -> String {
        var job = RequestLine(first: "queue", string: queue)
        try apply(to: &job)
        return String(decoding: job.bytes, as: UTF8.self)
    }

    /// Every field but `queue` (which comes first): `enqueue` adds its own after these.
    func apply(to request: inout RequestLine) throws {
        request.set("func", string: function)
        if !arguments.isEmpty {
            // Valid JSON is passed through untouched; anything else becomes a JSON string.
            request.set("args", array: arguments.map { JSONScanner.kind(of: $0) != nil ? .rawJSON($0) : .string($0) })
        }
        if let kwargs { request.set("kwargs", .rawJSON(try Self.jsonObject(kwargs, option: "--kwargs"))) }
        if let retries { request.set("retries", int: retries) }
        if let retryIntervals {
            let numbers = try retryIntervals.split(separator: ",", omittingEmptySubsequences: false)
                .map { try Self.jsonNumber(String($0), option: "--retry-intervals") }
            request.set("retry_intervals", array: numbers.map(RequestLine.Value.rawJSON))
        }
        if let timeout { request.set("timeout", int: timeout) }
        if let resultTTL { request.set("result_ttl", int: resultTTL) }
        if let failureTTL { request.set("failure_ttl", int: failureTTL) }
        if let queueTTL { request.set("ttl", int: queueTTL) }
        if let jobDescription { request.set("description", string: jobDescription) }
        if let meta { request.set("meta", .rawJSON(try Self.jsonObject(meta, option: "--meta"))) }
        if atFront { request.set("at_front", bool: true) }
    }

    static func jsonObject(_ text: String, option: String) throws -> String {
        guard JSONScanner.kind(of: text) == .object else {
            throw OpsFailure.usage("\(option) must be a JSON object, e.g. {\"key\":1}; got \(text)")
        }
        return text
    }

    static func jsonNumber(_ text: String, option: String) throws -> String {
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
