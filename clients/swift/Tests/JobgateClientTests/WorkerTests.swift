import Foundation
import Testing
@testable import JobgateClient

struct HandlerError: Error, CustomStringConvertible {
    let description: String
}

@Suite("Worker: concurrency, heartbeats, lost leases, stopping")
struct WorkerTests {
    @Test func concurrencyLimitIsNeverExceeded() async throws {
        try await withGateway { gw in
            let client = gw.client()
            for i in 0..<12 {
                try await client.enqueue(queue: "work", function: "square", args: [.int(i)], options: .init(id: "w-\(i)"))
            }
            let running = Box((now: 0, max: 0))
            let events = EventLog()
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["work"], concurrency: 3, leaseWait: 0.5),
                                onEvent: events.record) { job -> [String: Int] in
                running.with { $0.now += 1; $0.max = max($0.max, $0.now) }
                defer { running.with { $0.now -= 1 } }
                try await Task.sleep(for: .milliseconds(150))   // the "work"
                let n = try job.argument(0, as: Int.self)
                return ["square": n * n]
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually(timeout: 30) { events.acked.count == 12 })
            worker.stop()
            try await run.value

            #expect(running.get.max <= 3, "at most 3 handlers at once")
            #expect(running.get.max == 3, "the limit is used in full when jobs are waiting")
            #expect(events.failed.isEmpty && events.leaseLost.isEmpty)
            for i in 0..<12 {
                let info = try await client.job("w-\(i)")
                #expect(info.state == .finished)
                #expect(info.result == ["square": .int(i * i)])
                #expect(info.worker == worker.configuration.name)
            }
            await client.close()
        }
    }

    @Test func queuesAreTakenInPriorityOrderOverUnixSocket() async throws {
        try await withGateway { gw in
            let client = gw.client(unix: true)
            try await client.enqueue(queue: "low", function: "f", options: .init(id: "low-1"))
            try await client.enqueue(queue: "low", function: "f", options: .init(id: "low-2"))
            try await client.enqueue(queue: "high", function: "f", options: .init(id: "high-1"))
            try await client.enqueue(queue: "high", function: "f", options: .init(id: "high-2"))
            let order = Box([String]())
            let worker = Worker(address: gw.unixAddress,
                                configuration: .init(queues: ["high", "low"], concurrency: 1, leaseWait: 0.5)) { job in
                order.with { $0.append(job.id) }
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually { order.get.count == 4 })
            #expect(try await eventually { try await client.stats().queues["low"]?.finished == 2 })
            worker.stop()
            try await run.value
            #expect(order.get == ["high-1", "high-2", "low-1", "low-2"])
            #expect(try await client.job("low-2").result == nil, "a Void handler acks with no result")
            await client.close()
        }
    }

    @Test func heartbeatsKeepAShortLeaseAlive() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let job = try await client.enqueue(queue: "long", function: "f")
            let events = EventLog()
            let leaseSeconds = Box(0.0)
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["long"], leaseFor: 3, leaseWait: 0.5),
                                onEvent: events.record) { job -> String in
                leaseSeconds.with { $0 = job.leaseSeconds }
                // Work for more than twice the lease length. Beats come every second (a third of
                // the lease), leaving two seconds of slack for a busy test machine.
                try await Task.sleep(for: .milliseconds(7000))
                return "done"
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually(timeout: 30) { events.acked.count == 1 })
            worker.stop()
            try await run.value

            #expect(leaseSeconds.get == 3)
            #expect(events.leaseLost.isEmpty)
            #expect(events.errors.isEmpty, "\(events.errors)")
            let info = try await client.job(job.id)
            #expect(info.state == .finished)
            #expect(info.result == "done")
            #expect(info.attempts == 1, "the lease never expired, so the job ran once")
            let started = try #require(info.startedAt)
            let beat = try #require(info.lastHeartbeat)
            #expect(beat > started, "heartbeats were recorded")
            #expect(try await client.stats().gateway["lease_expiries"]?.intValue == 0)
            await client.close()
        }
    }

    @Test func lostLeaseCancelsTheHandler() async throws {
        try await withGateway { gw in
            let client = gw.client()
            try await client.enqueue(queue: "lost", function: "block", options: .init(id: "doomed"))
            let events = EventLog()
            let leased = Box<LeasedJob?>(nil)
            let cancelled = Box(false)
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["lost"], concurrency: 1, leaseFor: 3, leaseWait: 0.5),
                                onEvent: events.record) { job -> String in
                if job.id != "doomed" { return "ok" }
                leased.with { $0 = job }
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch is CancellationError {
                    cancelled.with { $0 = true }
                    throw CancellationError()
                }
                return "should not get here"
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually { leased.get != nil })
            let job = try #require(leased.get)

            // Take the lease away behind the worker's back, as a sweep or another gateway would.
            #expect(try gw.redis("ZREM", "rq:wip:lost", "\(job.id):\(job.lease)") == "1")
            // The next heartbeat (after about a second) answers LEASE_LOST and the handler is cancelled.
            #expect(try await eventually { cancelled.get })
            #expect(try await eventually { events.leaseLost.map(\.id) == ["doomed"] })
            #expect(events.acked.isEmpty && events.failed.isEmpty, "a lost job is neither acked nor failed")
            let info = try await client.job("doomed")
            #expect(info.state != .finished && info.state != .failed)
            #expect(info.result == nil)

            // The slot was freed: the one-slot worker takes the next job.
            try await client.enqueue(queue: "lost", function: "f", options: .init(id: "next"))
            #expect(try await eventually { events.acked.map(\.0.id) == ["next"] })
            worker.stop()
            try await run.value
            await client.close()
        }
    }

    @Test func thrownErrorsFailTheAttempt() async throws {
        try await withGateway { gw in
            let client = gw.client()
            try await client.enqueue(queue: "flaky", function: "f", options: .init(id: "retry-me", retries: 1))
            try await client.enqueue(queue: "flaky", function: "f", options: .init(id: "give-up", retries: 5))
            let events = EventLog()
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["flaky"], concurrency: 1, leaseWait: 0.5),
                                onEvent: events.record) { job -> Int in
                if job.id == "give-up" { throw JobFailure("permanent: bad input", retry: false) }
                if job.attempt == 1 { throw HandlerError(description: "ImageError: corrupt header") }
                return job.attempt
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually { events.acked.count == 1 && events.failed.count == 2 })
            worker.stop()
            try await run.value

            let retried = try await client.job("retry-me")
            #expect(retried.state == .finished)
            #expect(retried.attempts == 2)
            #expect(retried.result == 2)
            #expect(retried.error == "ImageError: corrupt header", "the thrown error's description")
            let first = try #require(events.failed.first { $0.0.id == "retry-me" })
            #expect(first.2.state == .queued)

            let gaveUp = try await client.job("give-up")
            #expect(gaveUp.state == .failed)
            #expect(gaveUp.error == "permanent: bad input")
            #expect(gaveUp.retriesLeft == 5, "retry: false fails it for good without spending retries")
            await client.close()
        }
    }

    @Test func stopFinishesRunningJobsAndLeasesNoMore() async throws {
        try await withGateway { gw in
            let client = gw.client()
            try await client.enqueue(queue: "stop", function: "f", options: .init(id: "s-1"))
            try await client.enqueue(queue: "stop", function: "f", options: .init(id: "s-2"))
            let gate = Latch()
            let started = Box(Set<String>())
            let events = EventLog()
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["stop"], concurrency: 2, leaseWait: 0.5),
                                onEvent: events.record) { job -> String in
                started.with { _ = $0.insert(job.id) }
                await gate.wait()
                return "finished \(job.id)"
            }
            let returned = Box(false)
            let run = Task {
                try await worker.run()
                returned.with { $0 = true }
            }
            #expect(try await eventually { started.get == ["s-1", "s-2"] })

            worker.stop()
            try await client.enqueue(queue: "stop", function: "f", options: .init(id: "s-3"))
            // Both handlers are still blocked, so run() cannot have returned.
            #expect(!returned.get)
            #expect(try await client.job("s-1").state == .started)

            gate.set()
            try await run.value
            #expect(returned.get)
            #expect(try await client.job("s-1").result == "finished s-1")
            #expect(try await client.job("s-2").result == "finished s-2")
            let third = try await client.job("s-3")
            #expect(third.state == .queued, "no lease after stop()")
            #expect(third.attempts == 0)
            #expect(events.acked.count == 2)
            await client.close()
        }
    }

    @Test func cancellingRunCancelsHandlersAndReleasesTheirJobs() async throws {
        try await withGateway { gw in
            let client = gw.client()
            try await client.enqueue(queue: "cancel", function: "f", options: .init(id: "c-1", retries: 2))
            let events = EventLog()
            let running = Box(false)
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["cancel"], concurrency: 1, leaseWait: 0.5),
                                onEvent: events.record) { _ in
                running.with { $0 = true }
                try await Task.sleep(for: .seconds(60))
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually { running.get })
            run.cancel()
            try await run.value
            #expect(events.released.map(\.id) == ["c-1"])
            let info = try await client.job("c-1")
            #expect(info.state == .queued, "released back to its queue")
            #expect(info.retriesLeft == 2, "without spending a retry")
            await client.close()
        }
    }

    @Test func invalidLeaseRequestEndsRun() async throws {
        try await withGateway { gw in
            let worker = Worker(address: gw.tcpAddress, configuration: .init(queues: ["not a queue!"])) { _ in }
            do {
                try await worker.run()
                Issue.record("run() should throw")
            } catch let error as JobgateError {
                #expect(error.code == .badRequest)
            }
            await #expect(throws: JobgateClientError.self) { try await worker.run() }
            let empty = Worker(address: gw.tcpAddress, configuration: .init(queues: [])) { _ in }
            await #expect(throws: JobgateClientError.self) { try await empty.run() }
        }
    }
}
