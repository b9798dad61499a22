import ArgumentParser
import JobgateServer

/// Where the gateway is and how to talk to it: shared by every operator command.
struct GatewayOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The gateway: tcp://HOST:PORT or unix:PATH. Default: $JOBGATE_ADDR, else tcp://127.0.0.1:7700.",
        valueName: "address"))
    var addr: String?

    @Option(name: .long, help: ArgumentHelp(
        "Sent as {\"op\":\"auth\"} first on a TCP address (Unix sockets need none). Default: $JOBGATE_TOKEN.",
        valueName: "token"))
    var token: String?

    @Flag(name: .long, help: "Print the gateway's raw reply line(s) instead of human output, for scripts.")
    var json = false

    static let defaultAddress = "tcp://127.0.0.1:7700"

    var resolvedAddressText: String { addr ?? environment("JOBGATE_ADDR") ?? Self.defaultAddress }

    var resolvedToken: String? { token ?? environment("JOBGATE_TOKEN") }

    func resolvedAddress() throws -> ListenAddress {
        guard let address = ListenAddress(resolvedAddressText) else {
            throw OpsFailure.usage("--addr \(resolvedAddressText): expected tcp://HOST:PORT or unix:PATH")
        }
        return address
    }
}

/// How long to wait for the gateway. Its own name is `--timeout`, except in `enqueue`, where
/// `--timeout` is the job's timeout; `--io-timeout` works everywhere.
struct ReplyTimeoutOption: ParsableArguments {
    @Option(name: [.customLong("timeout"), .customLong("io-timeout")], help: ArgumentHelp(
        "Seconds to wait to connect and for each reply.", valueName: "seconds"))
    var seconds: Double = defaultReplyTimeout
}

/// Longer than the gateway's own 10 s Redis timeout, so its UNAVAILABLE reply arrives first.
let defaultReplyTimeout = 15.0
