import Foundation
import Testing
@testable import JobgateClient

@Suite("Producer and lease round trips against a real gateway")
struct ProducerTests {
    @Test func enqueueLeaseAckJobRoundTrip() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let ping = try await client.ping()
            #expect(ping.redis == "ready")
            #expect(ping.limits.maxPipeline == 1024)
            #expect(ping.limits.maxBatch == 10_000)

            let enqueued = try await client.enqueue(
                queue: "emails", function: "mail.send",
                args: ["ada@example.com", 3, 2.5, true, nil, ["nested": [1, 2]]],
                kwargs: ["subject": "hi \"there\"\n/ünï", "n": 9_007_199_254_740_993],
                options: EnqueueOptions(description: "welcome mail", meta: ["campaign": "spring"]))
            #expect(enqueued.state == .queued)
            #expect(enqueued.runAt == nil)
            #expect(UUID(uuidString: enqueued.id) != nil, "a generated id is a uuid4")

            let leased = try #require(try await client.lease(queues: ["urgent", "emails"], worker: "mailer-1"))
            #expect(leased.id == enqueued.id)
            #expect(leased.queue == "emails")
            #expect(leased.function == "mail.send")
            #expect(leased.args == ["ada@example.com", 3, 2.5, true, nil, ["nested": [1, 2]]])
            #expect(leased.kwargs == ["subject": "hi \"there\"\n/ünï", "n": 9_007_199_254_740_993])
            #expect(leased.meta == ["campaign": "spring"])
            #expect(leased.attempt == 1)
            #expect(leased.retriesLeft == 0)
            #expect(leased.leaseSeconds == 180, "the default timeout")
            #expect(leased.lease.count == 32)

            let nothing = try await client.lease(queues: ["emails"], wait: 0.2)
            #expect(nothing == nil)

            let during = try await client.job(enqueued.id)
            #expect(during.state == .started)
            #expect(during.worker == "mailer-1")

            let expires = try await client.heartbeat(leased, extend: 300)
            #expect(expires > leased.expiresAt)

            let state = try await client.ack(leased, result: ["sent": true] as JSONValue)
            #expect(state == .finished)

            let info = try await client.job(enqueued.id)
            #expect(info.state == .finished)
            #expect(info.result == ["sent": true])
            #expect(info.function == "mail.send")
            #expect(info.description == "welcome mail")
            #expect(info.meta == ["campaign": "spring"])
            #expect(info.attempts == 1)
            #expect(info.worker == "mailer-1")
            #expect(info.error == nil)
            #expect(info.endedAt != nil)
            await client.close()
        }
    }

    @Test func unixSocketAndLeaseAcrossConnections() async throws {
        try await withGateway { gw in
            let overUnix = gw.client(unix: true)
            let overTCP = gw.client()
            let ping = try await overUnix.ping()
            #expect(ping.redis == "ready")
            let job = try await overUnix.enqueue(queue: "q", function: "f", args: [1], options: .init(id: "via-unix"))
            #expect(job.id == "via-unix")
            // A lease belongs to its token, not its connection: lease over TCP, ack over Unix.
            let leased = try #require(try await overTCP.lease(queues: ["q"], leaseFor: 30))
            #expect(leased.id == "via-unix")
            #expect(leased.leaseSeconds == 30)
            #expect(try await overUnix.ack(leased) == .finished)
            #expect(try await overTCP.job("via-unix").state == .finished)
            let stats = try await overUnix.stats()
            #expect(stats.queues["q"]?.finished == 1)
            // Both clients kept their one connection each (the harness's probe may still be closing).
            #expect(try await eventually { try await overUnix.stats().gateway["connections"]?.intValue == 2 })
            await overUnix.close()
            await overTCP.close()
        }
    }

    @Test func batchEnqueue() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let results = try await client.enqueueBatch([
                NewJob(queue: nil, function: "img.thumb", args: [1]),
                NewJob(queue: nil, function: "img.thumb", args: [2], options: .init(id: "thumb-2")),
                NewJob(queue: nil, function: "img.thumb", args: [2], options: .init(id: "thumb-2")),
                NewJob(queue: "other", function: "img.thumb", args: [3]),
            ], defaultQueue: "thumbs")
            #expect(results.count == 4)
            let first = try results[0].get()
            #expect(first.state == .queued)
            #expect(try results[1].get().id == "thumb-2")
            guard case .failure(let dup) = results[2] else {
                Issue.record("the repeated id should fail its item")
                return
            }
            #expect(dup.code == .duplicate)
            #expect(dup.id == "thumb-2")
            #expect(try results[3].get().state == .queued)

            var stats = try await client.stats()
            #expect(stats.queues["thumbs"]?.queued == 2)
            #expect(stats.queues["other"]?.queued == 1)

            // One invalid item refuses the whole batch and enqueues nothing.
            await #expect(throws: JobgateError.self) {
                _ = try await client.enqueueBatch([
                    NewJob(queue: nil, function: "img.thumb", args: [4]),
                    NewJob(queue: "bad queue!", function: "img.thumb"),
                ], defaultQueue: "thumbs")
            }
            do {
                _ = try await client.enqueueBatch([
                    NewJob(queue: nil, function: "img.thumb", args: [4]),
                    NewJob(queue: "bad queue!", function: "img.thumb"),
                ], defaultQueue: "thumbs")
            } catch let error as JobgateError {
                #expect(error.code == .badRequest)
                #expect(error.message.contains("jobs[1]"))
            }
            stats = try await client.stats()
            #expect(stats.queues["thumbs"]?.queued == 2)

            let leased = try await client.lease(queues: ["thumbs"], count: 5, leaseFor: 30)
            #expect(leased.map(\.id) == [first.id, "thumb-2"])
            #expect(leased.map(\.args) == [[1], [2]])
            await client.close()
        }
    }

    struct ResizeTask: Codable, Equatable, Sendable {
        var path: String
        var sizes: [Int]
        var quality: Double?
        var tags: [String: String]
        var createdAt: Date
    }

    struct Thumbnails: Codable, Equatable, Sendable {
        var files: [String]
        var bytes: Int
    }

    @Test func codablePayloadAndResultRoundTrip() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let task = ResizeTask(path: "in/cat.png", sizes: [64, 256], quality: 0.8, tags: ["owner": "ada"],
                                  createdAt: Date(timeIntervalSince1970: 1_700_000_000.25))
            let job = try await client.enqueue(queue: "images", function: "img.resize", payload: task)
            let leased = try #require(try await client.lease(queues: ["images"]))
            #expect(leased.args.count == 1)
            #expect(try leased.payload(as: ResizeTask.self) == task)
            #expect(try leased.argument(0, as: ResizeTask.self) == task)
            #expect(leased.args[0]["path"] == "in/cat.png")

            let thumbs = Thumbnails(files: ["out/cat-64.png", "out/cat-256.png"], bytes: 12_345)
            try await client.ack(leased, result: thumbs)
            let done = try #require(try await client.result(id: job.id, wait: 5))
            #expect(done.state == .finished)
            #expect(try done.result(as: Thumbnails.self) == thumbs)

            // kwargs decoded as one object.
            struct Options: Codable, Equatable { var width: Int; var crop: Bool }
            _ = try await client.enqueue(queue: "images", function: "img.crop", args: ["a.png"], kwargs: ["width": 10, "crop": true])
            let cropJob = try #require(try await client.lease(queues: ["images"]))
            #expect(try cropJob.kwargs(as: Options.self) == Options(width: 10, crop: true))
            #expect(try cropJob.argument(0, as: String.self) == "a.png")
            #expect(throws: JobgateClientError.self) { try cropJob.argument(1, as: String.self) }
            await client.close()
        }
    }

    @Test func rawJSONPayloadsAreSentAsGiven() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let args = try RawJSON(validating: "[1, {\"deep\": [true, null, 1.5e3]},\n  \"line\\nbreak\"]")
            #expect(!args.bytes.contains(UInt8(ascii: "\n")), "line breaks between tokens become spaces")
            let kwargs = try RawJSON(validating: #"{"big": 123456789012345678, "s": "é"}"#)
            let job = try NewJob(queue: "raw", function: "raw.f", rawArgs: args, rawKwargs: kwargs)
            let id = try await client.enqueue(job).id
            let leased = try #require(try await client.lease(queues: ["raw"]))
            #expect(leased.id == id)
            #expect(leased.args == [1, ["deep": [true, nil, 1500]], "line\nbreak"])
            #expect(leased.kwargs == ["big": .int(123_456_789_012_345_678), "s": "é"])
            try await client.ack(id: leased.id, lease: leased.lease, rawResult: RawJSON(validating: #"[1,"two"]"#))
            #expect(try await client.job(id).result == [1, "two"])

            #expect(throws: JobgateClientError.self) { try RawJSON(validating: "[1,") }
            #expect(throws: JobgateClientError.self) {
                try NewJob(queue: "raw", function: "f", rawArgs: RawJSON(validating: "{}"))
            }
            #expect(throws: JobgateClientError.self) {
                try NewJob(queue: "raw", function: "f", rawArgs: RawJSON(validating: "[]"), rawKwargs: RawJSON(validating: "[]"))
            }
            await client.close()
        }
    }

    @Test func everyEnqueueOption() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let full = try await client.enqueue(queue: "opts", function: "f", options: EnqueueOptions(
                id: "all-options", timeout: 42, retries: 2, retryIntervals: [0, 5], resultTTL: 600,
                failureTTL: 700, ttl: 800, description: "every option", meta: ["k": ["v", 1]]))
            #expect(full.id == "all-options")
            let info = try await client.job("all-options")
            #expect(info.state == .queued)
            #expect(info.timeout == 42)
            #expect(info.retriesLeft == 2)
            #expect(info.resultTTL == 600)
            #expect(info.failureTTL == 700)
            #expect(info.description == "every option")
            #expect(info.meta == ["k": ["v", 1]])
            #expect(try await gw.redis("HGET", "rq:job:all-options", "ttl") == "800")

            // timeout is the lease length; retry_intervals [0, 5] with 2 retries waits 0, then 5 s.
            let leased = try #require(try await client.lease(queues: ["opts"]))
            #expect(leased.leaseSeconds == 42)
            #expect(leased.retriesLeft == 2)
            let first = try await client.fail(leased, error: "boom 1")
            #expect(first.state == .queued)
            #expect(first.retriesLeft == 1)
            let again = try #require(try await client.lease(queues: ["opts"]))
            #expect(again.attempt == 2)
            let second = try await client.fail(again, error: "boom 2")
            #expect(second.state == .scheduled)
            #expect(second.retriesLeft == 0)
            let retryAt = try #require(second.retryAt)
            #expect(retryAt >= again.expiresAt - 42 + 4)
            #expect(try await client.job("all-options").error == "boom 2")

            // at_front jumps the queue.
            try await client.enqueue(queue: "order", function: "f", options: .init(id: "a"))
            try await client.enqueue(queue: "order", function: "f", options: .init(id: "b"))
            try await client.enqueue(queue: "order", function: "f", options: .init(id: "c", atFront: true))
            let order = try await client.lease(queues: ["order"], count: 3, leaseFor: 10)
            #expect(order.map(\.id) == ["c", "a", "b"])

            // delay, at (Date, Unix seconds, RFC 3339 text).
            let delayed = try await client.enqueue(queue: "later", function: "f", options: .init(schedule: .delay(3600)))
            #expect(delayed.state == .scheduled)
            let runAt = try #require(delayed.runAt)
            let future = Date().addingTimeInterval(7200)
            let atDate = try await client.enqueue(queue: "later", function: "f", options: .init(schedule: .at(future)))
            #expect(atDate.state == .scheduled)
            #expect(try #require(atDate.runAt) >= future.timeIntervalSince1970.rounded(.down))
            #expect(try #require(atDate.runAt) > runAt)
            let atUnix = try await client.enqueue(queue: "later", function: "f",
                                                  options: .init(schedule: .atUnixTime(future.timeIntervalSince1970)))
            #expect(atUnix.runAt == atDate.runAt)
            let atText = try await client.enqueue(queue: "later", function: "f",
                                                  options: .init(schedule: .atRFC3339("2100-01-01T00:00:00Z")))
            #expect(atText.runAt == 4_102_444_800)
            let past = try await client.enqueue(queue: "later", function: "f",
                                                options: .init(schedule: .atRFC3339("2001-01-01T00:00:00Z")))
            #expect(past.state == .queued, "a time in the past queues the job now")
            #expect(try await client.stats().queues["later"]?.scheduled == 4)

            // result_ttl 0 deletes the job when acked.
            try await client.enqueue(queue: "gone", function: "f", options: .init(id: "ephemeral", resultTTL: 0))
            let ephemeral = try #require(try await client.lease(queues: ["gone"]))
            #expect(try await client.ack(ephemeral) == .deleted)
            await #expect(throws: JobgateError.self) { _ = try await client.job("ephemeral") }

            // release gives the job back without spending a retry.
            try await client.enqueue(queue: "rel", function: "f", options: .init(id: "rel-1", retries: 1))
            let rel = try #require(try await client.lease(queues: ["rel"]))
            #expect(try await client.release(rel).state == .queued)
            let relAgain = try #require(try await client.lease(queues: ["rel"]))
            #expect(relAgain.retriesLeft == 1)
            #expect(relAgain.attempt == 2)
            let relDelayed = try await client.release(relAgain, delay: 60)
            #expect(relDelayed.state == .scheduled)
            #expect(relDelayed.runAt != nil)
            await client.close()
        }
    }

    @Test func resultWaitsForTheJobToEnd() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let job = try await client.enqueue(queue: "rpc", function: "f")
            // Not processed: no result, whether only checking or waiting a little.
            #expect(try await client.result(id: job.id) == nil)
            #expect(try await client.result(id: job.id, wait: 0.3) == nil)

            let worker = gw.client()
            async let waited = client.result(id: job.id, wait: 30)
            // The result request is waiting at the gateway before the job even starts.
            #expect(try await eventually { try gw.redis("HGET", "rq:job:\(job.id)", "jobgate_awaited") == "1" })
            let leased = try #require(try await worker.lease(queues: ["rpc"]))
            try await worker.fail(leased, error: "ValueError: bad image", retry: false)
            let info = try #require(try await waited)
            #expect(info.state == .failed)
            #expect(info.error == "ValueError: bad image")

            let second = try await client.enqueue(queue: "rpc", function: "g")
            async let answered = client.result(id: second.id, wait: 30)
            let lease2 = try #require(try await worker.lease(queues: ["rpc"], wait: 5))
            try await worker.ack(lease2, result: ["answer": 42] as JSONValue)
            #expect(try await answered?.result == ["answer": 42])

            await #expect(throws: JobgateError.self) { _ = try await client.result(id: "no-such-job", wait: 1) }
            await client.close()
            await worker.close()
        }
    }

    @Test func reconnectsAfterTheGatewayRestarts() async throws {
        try await withGateway { gw in
            let client = gw.client()
            try await client.enqueue(queue: "q", function: "f", options: .init(id: "before"))
            try await gw.restartGateway()
            // The old connection is gone; the next request opens a new one.
            #expect(try await client.job("before").state == .queued)
            await client.close()
            await #expect(throws: JobgateClientError.clientClosed) { _ = try await client.ping() }
        }
    }

    @Test func connectFailureIsAClientError() async throws {
        let client = JobgateClient(address: .tcp(host: "127.0.0.1", port: TestGateway.freePort()))
        await #expect(throws: JobgateClientError.self) { _ = try await client.ping() }
        let missing = JobgateClient(address: .unix(path: "/tmp/jgc-no-such-dir/gw.sock"))
        do {
            _ = try await missing.ping()
            Issue.record("connecting to a missing socket should fail")
        } catch let error as JobgateClientError {
            guard case .connectionLost = error else {
                Issue.record("expected connectionLost, got \(error)")
                return
            }
        }
    }
}
