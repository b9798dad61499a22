import Foundation
import JobgateServer

/// One reply line: the exact text (for `--json`) and its parsed fields.
struct Reply {
    let text: String
    let fields: [String: Any]

    func int(_ key: String) -> Int? { (fields[key] as? NSNumber)?.intValue }
    func string(_ key: String) -> String? { fields[key] as? String }
    func object(_ key: String) -> [String: Any]? { fields[key] as? [String: Any] }
}

/// A connection for one command: it authenticates when it needs to, sends requests, echoes the
/// raw replies in `--json` mode, and turns error replies into `OpsFailure`s.
final class GatewaySession {
    private let client: LineClient
    private let echoesReplies: Bool

    init(_ options: GatewayOptions, timeoutSeconds: Double) throws {
        guard timeoutSeconds > 0 && timeoutSeconds.isFinite else {
            throw OpsFailure.usage("the timeout must be a positive number of seconds")
        }
        let address = try options.resolvedAddress()
        echoesReplies = options.json
        do {
            client = try LineClient(address: address, timeoutSeconds: timeoutSeconds)
        } catch let error as LineClientError {
            throw Self.failure(for: error)
        }
        // Unix-socket connections are trusted by the gateway, which needs no token from them.
        if case .tcp = address, let token = options.resolvedToken {
            var auth = RequestLine(op: "auth")
            auth.set("token", string: token)
            let reply = try exchange(auth)
            if reply.fields["ok"] as? Bool != true {
                // The auth reply is no command's answer, so `--json` shows it only when it explains a failure.
                if echoesReplies { print(reply.text) }
                throw Self.failure(in: reply)
            }
        }
    }

    /// Sends `request` and returns its successful reply; an error reply is thrown as an `OpsFailure`.
    @discardableResult
    func call(_ request: RequestLine) throws -> Reply {
        let reply = try exchange(request)
        if echoesReplies { print(reply.text) }
        guard reply.fields["ok"] as? Bool == true else { throw Self.failure(in: reply) }
        return reply
    }

    private func exchange(_ request: RequestLine) throws -> Reply {
        let line: [UInt8]
        do {
            line = try client.call(request.bytes)
        } catch let error as LineClientError {
            throw Self.failure(for: error)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let fields = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
            throw OpsFailure(code: OpsFailure.badReply, message: "the gateway sent a line that is not a JSON object: \(text.prefix(200))")
        }
        return Reply(text: text, fields: fields)
    }

    private static func failure(for error: LineClientError) -> OpsFailure {
        switch error {
        case .timeout(let text): OpsFailure(code: OpsFailure.timedOut, message: text)
        case .connect(let text), .broken(let text): OpsFailure(code: OpsFailure.connectionFailed, message: text)
        }
    }

    private static func failure(in reply: Reply) -> OpsFailure {
        let error = reply.object("error")
        let code = error?["code"] as? String ?? "INTERNAL"
        var message = error?["message"] as? String ?? "the gateway refused the request: \(reply.text)"
        // DUPLICATE names the existing job at the top level, not in the message.
        if code == "DUPLICATE", let id = reply.string("id") { message += ": \(id)" }
        return OpsFailure(code: code, message: message)
    }
}

extension GatewayOptions {
    /// Sends `{"op": op}`, the whole request of the commands that only ask.
    func call(_ op: String, timeout: ReplyTimeoutOption) throws -> Reply {
        try GatewaySession(self, timeoutSeconds: timeout.seconds).call(RequestLine(op: op))
    }

    /// Sends `{"op": op, key: value}` and says `done` (unless --json): a whole command.
    func run(_ op: String, _ key: StaticString, _ value: String, timeout: ReplyTimeoutOption, done: String) throws {
        try reportingFailures {
            try call(op, key, value, timeout: timeout)
            if !json { print(done) }
        }
    }

    /// Sends `{"op": op, key: value}`, the whole request of the commands that name one thing.
    @discardableResult
    func call(_ op: String, _ key: StaticString, _ value: String, timeout: ReplyTimeoutOption) throws -> Reply {
        var request = RequestLine(op: op)
        request.set(key, string: value)
        return try GatewaySession(self, timeoutSeconds: timeout.seconds).call(request)
    }
}
