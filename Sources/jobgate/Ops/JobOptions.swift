import ArgumentParser
import JobgateServer

/// The job a schedule enqueues, from the same options `enqueue` takes (those a scheduled job
/// can have: no id, delay, at or dependencies, since each run enqueues its own at once).
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
        var w = JSONWriter()
        w.raw("{\"queue\":"); w.string(queue)
        w.key("func"); w.string(function)
        if !arguments.isEmpty {
            w.key("args"); w.raw("[")
            for (i, argument) in arguments.enumerated() {
                if i > 0 { w.raw(",") }
                // Valid JSON is passed through untouched; anything else becomes a JSON string.
                if JSONScanner.kind(of: argument) != nil { w.raw(Array(argument.utf8)) } else { w.string(argument) }
            }
            w.raw("]")
        }
        if let kwargs { w.key("kwargs"); w.raw(Array(try Self.object(kwargs, option: "--kwargs").utf8)) }
        if let retries { w.key("retries"); w.int(retries) }
        if let retryIntervals {
            w.key("retry_intervals"); w.raw("[")
            for (i, interval) in retryIntervals.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                let number = interval.trimmingCharacters(in: " ")
                guard JSONScanner.kind(of: number) == .number else {
                    throw OpsFailure.usage("--retry-intervals expects numbers of seconds; got '\(interval)'")
                }
                if i > 0 { w.raw(",") }
                w.raw(Array(number.utf8))
            }
            w.raw("]")
        }
        if let timeout { w.key("timeout"); w.int(timeout) }
        if let resultTTL { w.key("result_ttl"); w.int(resultTTL) }
        if let failureTTL { w.key("failure_ttl"); w.int(failureTTL) }
        if let queueTTL { w.key("ttl"); w.int(queueTTL) }
        if let jobDescription { w.key("description"); w.string(jobDescription) }
        if let meta { w.key("meta"); w.raw(Array(try Self.object(meta, option: "--meta").utf8)) }
        if atFront { w.key("at_front"); w.bool(true) }
        w.raw("}")
        return String(decoding: w.bytes, as: UTF8.self)
    }

    private static func object(_ text: String, option: String) throws -> String {
        guard JSONScanner.kind(of: text) == .object else {
            throw OpsFailure.usage("\(option) must be a JSON object, e.g. {\"key\":1}; got \(text)")
        }
        return text
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}
