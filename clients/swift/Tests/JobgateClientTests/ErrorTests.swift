import Foundation
import Testing
@testable import JobgateClient

/// Runs `body` and returns the error of type `E` it throws (recording an issue if it throws
/// none, or another error).
func thrownError<E: Error>(
    _ type: E.Type, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
) async -> E? {
    do {
        try await body()
        Issue.record("expected a \(E.self), got success", sourceLocation: sourceLocation)
    } catch let error as E {
        return error
    } catch {
        Issue.record("expected a \(E.self), got \(String(reflecting: error))", sourceLocation: sourceLocation)
    }
    return nil
}

/// Runs `body` and returns the JobgateError it throws (recording an issue if it throws none).
func jobgateError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> JobgateError? {
    await thrownError(JobgateError.self, body, sourceLocation: sourceLocation)
}

@Suite("Error replies carry the protocol's codes")
struct ErrorTests {
    @Test func errorCodesFromTheGateway() async throws {
        try await withGateway { gw in
            let client = gw.client()

            // BAD_REQUEST: an invalid queue name; an out-of-range wait.
            let badQueue = await jobgateError { try await client.enqueue(queue: "no spaces allowed", function: "f") }
            #expect(badQueue?.code == .badRequest)
            #expect(badQueue?.message.contains("queue") == true)
            #expect(badQueue?.retryable == false)
            let badWait = await jobgateError { _ = try await client.lease(queues: ["q"], wait: 61) }
            #expect(badWait?.code == .badRequest)
            let unknownField = await jobgateError { _ = try await client.request(["op": "enqueue", "queue": "q", "func": "f", "retires": 3]) }
            #expect(unknownField?.code == .badRequest)
            #expect(unknownField?.message.contains("retires") == true)

            // UNKNOWN_OP through a raw request.
            let unknownOp = await jobgateError { _ = try await client.request(["op": "launch"]) }
            #expect(unknownOp?.code == .unknownOp)
            #expect(unknownOp?.message.contains("launch") == true)

            // DUPLICATE names the id that exists, and changes nothing.
            try await client.enqueue(queue: "q", function: "first", options: .init(id: "welcome-ada"))
            let duplicate = await jobgateError {
                try await client.enqueue(queue: "q", function: "second", options: .init(id: "welcome-ada"))
            }
            #expect(duplicate?.code == .duplicate)
            #expect(duplicate?.id == "welcome-ada")
            #expect(try await client.job("welcome-ada").function == "first")

            // NOT_FOUND.
            let notFound = await jobgateError { _ = try await client.job("no-such-job") }
            #expect(notFound?.code == .notFound)
            #expect(notFound?.message.contains("no-such-job") == true)

            // LEASE_LOST: a wrong token; a fail after the job was acked. (The same ack again
            // answers as the first did.)
            let leased = try #require(try await client.lease(queues: ["q"]))
            let wrongToken = await jobgateError {
                try await client.heartbeat(id: leased.id, lease: String(repeating: "0", count: 32))
            }
            #expect(wrongToken?.code == .leaseLost)
            try await client.ack(leased)
            #expect(try await client.ack(leased) == .finished)
            let otherAck = await jobgateError { try await client.ack(id: leased.id, lease: String(repeating: "0", count: 32)) }
            #expect(otherAck?.code == .leaseLost)
            let failAfter = await jobgateError { try await client.fail(leased, error: "late") }
            #expect(failAfter?.code == .leaseLost)

            // WRONG_STATE: cancelling a finished job; requeueing a job that has not failed.
            let cancelDone = await jobgateError { try await client.cancel("welcome-ada") }
            #expect(cancelDone?.code == .wrongState)
            let requeueDone = await jobgateError { try await client.requeue("welcome-ada") }
            #expect(requeueDone?.code == .wrongState)

            // TOO_LARGE: the connection stays usable afterwards.
            let huge = String(repeating: "x", count: 1_100_000)
            let tooLarge = await jobgateError { try await client.enqueue(queue: "q", function: "f", args: [.string(huge)]) }
            #expect(tooLarge?.code == .tooLarge)
            #expect(try await client.ping().redis == "ready")

            // UNAVAILABLE is retryable.
            gw.killRedis()
            let unavailable = await jobgateError { try await client.enqueue(queue: "q", function: "f") }
            #expect(unavailable?.code == .unavailable)
            #expect(unavailable?.retryable == true)
            #expect(try await client.ping().redis != "ready")
            await client.close()
        }
    }

    @Test func tokenAuthentication() async throws {
        try await withGateway(token: "s3cret") { gw in
            // No token over TCP: every op answers UNAUTHORIZED.
            let anonymous = JobgateClient(address: gw.tcpAddress)
            let refused = await jobgateError { _ = try await anonymous.ping() }
            #expect(refused?.code == .unauthorized)
            #expect(refused?.retryable == false)

            // A wrong token fails the first request with UNAUTHORIZED.
            let wrong = JobgateClient(address: gw.tcpAddress, token: "guess")
            let wrongReply = await jobgateError { try await wrong.enqueue(queue: "q", function: "f") }
            #expect(wrongReply?.code == .unauthorized)
            #expect(wrongReply?.message.contains("wrong token") == true)

            // The right token authenticates every connection the client opens, including the
            // side connections of waiting requests.
            let client = JobgateClient(address: gw.tcpAddress, token: "s3cret")
            let job = try await client.enqueue(queue: "private", function: "a.b", options: .init(id: "after-auth"))
            #expect(job.id == "after-auth")
            #expect(try await client.result(id: "after-auth", wait: 0.2) == nil)
            let leased = try #require(try await client.lease(queues: ["private"], wait: 1))
            #expect(try await client.ack(leased) == .finished)

            // Unix sockets are trusted without a token.
            let local = JobgateClient(address: gw.unixAddress)
            #expect(try await local.job("after-auth").state == .finished)

            // A worker with the token works over TCP; without it, run() ends with UNAUTHORIZED.
            try await client.enqueue(queue: "private", function: "a.b", options: .init(id: "by-worker"))
            let events = EventLog()
            let worker = Worker(address: gw.tcpAddress, token: "s3cret",
                                configuration: .init(queues: ["private"], leaseWait: 0.5), onEvent: events.record) { _ in "ok" }
            let run = Task { try await worker.run() }
            #expect(try await eventually { events.acked.count == 1 })
            worker.stop()
            try await run.value
            let noToken = Worker(address: gw.tcpAddress, configuration: .init(queues: ["private"])) { _ in }
            do {
                try await noToken.run()
                Issue.record("a worker without the token should stop")
            } catch let error as JobgateError {
                #expect(error.code == .unauthorized)
            }
            for c in [anonymous, wrong, client, local] { await c.close() }
        }
    }

    @Test func overloadedIsRetryable() async throws {
        try await withGateway(extraArgs: ["--max-connections", "1"]) { gw in
            let first = gw.client()
            // The harness's probe connection may still be closing: wait until this one is in.
            #expect(try await eventually { (try? await first.ping()) != nil })
            let second = gw.client()
            let overloaded = await jobgateError { _ = try await second.ping() }
            #expect(overloaded?.code == .overloaded)
            #expect(overloaded?.retryable == true)
            // Once the first client leaves, the second gets in on its next request.
            await first.close()
            #expect(try await eventually { (try? await second.ping())?.redis == "ready" })
            await second.close()
        }
    }

    @Test func unknownCodesAndReplyShapesDecode() throws {
        func decodeError(_ line: String) -> Error? {
            do {
                _ = try Reply.decode([String: JSONValue].self, from: Array(line.utf8))
                return nil
            } catch {
                return error
            }
        }
        let future = decodeError(#"{"ok":false,"ref":1,"error":{"code":"QUOTA_EXCEEDED","message":"slow down"}}"#) as? JobgateError
        #expect(future?.code == .unknown("QUOTA_EXCEEDED"))
        #expect(future?.code.rawValue == "QUOTA_EXCEEDED")
        #expect(future?.message == "slow down")
        #expect(future?.retryable == false)

        let unavailable = decodeError(#"{"ok":false,"error":{"code":"UNAVAILABLE","message":"m","retryable":true}}"#) as? JobgateError
        #expect(unavailable?.code == .unavailable)
        #expect(unavailable?.retryable == true)

        let dup = decodeError(#"{"ok":false,"error":{"code":"DUPLICATE","message":"m"},"id":"x-1"}"#) as? JobgateError
        #expect(dup?.code == .duplicate)
        #expect(dup?.id == "x-1")

        for code in ["BAD_REQUEST", "UNKNOWN_OP", "NOT_FOUND", "LEASE_LOST", "DUPLICATE", "WRONG_STATE", "TOO_LARGE",
                     "UNAUTHORIZED", "OVERLOADED", "UNAVAILABLE", "INTERNAL"] {
            let parsed = JobgateError.Code(rawValue: code)
            #expect(parsed.rawValue == code)
            if case .unknown = parsed { Issue.record("\(code) should be a known code") }
        }

        #expect(decodeError("not json") is JobgateClientError)
        #expect(decodeError(#"{"ok":false}"#) is JobgateClientError)
        #expect(decodeError(#"{"ok":true,"a":1}"#) == nil)
    }
}
