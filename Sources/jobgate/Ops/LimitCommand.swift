import ArgumentParser
import JobgateServer

struct LimitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limit",
        abstract: "Cap a queue: at most N jobs started at once, at most M leases in any S seconds.",
        discussion: """
            Every gateway enforces the caps when it leases; RQ's own workers do not know them. \
            Without options it prints the queue's caps and how many jobs hold slots.
              jobgate limit emails --concurrency 3 --rate 100/60
              jobgate limit emails --clear

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The queue.")
    var queue: String

    @Option(help: "At most this many jobs of the queue started at once.")
    var concurrency: Int?

    @Option(help: ArgumentHelp("At most M leases started in any S seconds (a sliding window).", valueName: "M/S"))
    var rate: String?

    @Flag(help: "Remove both caps.")
    var clear = false

    func validate() throws {
        if clear && (concurrency != nil || rate != nil) { throw ValidationError("--clear goes alone") }
        if let rate, LimitCommand.parse(rate) == nil { throw ValidationError("--rate must be M/S, e.g. 100/60") }
    }

    static func parse(_ rate: String) -> (max: Int, per: Double)? {
        let parts = rate.split(separator: "/")
        guard parts.count == 2, let max = Int(parts[0]), let per = Double(parts[1]) else { return nil }
        return (max, per)
    }

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "limit")
            request.set("queue", string: queue)
            if clear {
                request.set("concurrency", .rawJSON("null"))
                request.set("rate", .rawJSON("null"))
            }
            if let concurrency { request.set("concurrency", int: concurrency) }
            if let rate, let (max, per) = LimitCommand.parse(rate) {
                request.set("rate", .rawJSON("{\"max\":\(max),\"per\":\(plainNumber(per))}"))
            }
            let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
            guard !gateway.json else { return }
            let concurrencyText = reply.int("concurrency").map { "at most \($0) started" } ?? "no concurrency cap"
            let rateText = reply.object("rate").map { "at most \($0["max"] ?? "?") per \($0["per"] ?? "?") s" } ?? "no rate cap"
            print("\(queue): \(concurrencyText), \(rateText); \(reply.int("started") ?? 0) started, \(reply.int("window") ?? 0) in the rate window")
        }
    }
}
