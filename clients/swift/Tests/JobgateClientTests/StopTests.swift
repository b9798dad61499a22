import Foundation
import Testing
@testable import JobgateClient

@Suite("Progress, stop and RQ's shutdown command while jobs run")
struct StopTests {
    @Test func heartbeatReportsAndStopEndsTheLease() async throws {
        try await withClient { gw, client in
            try await client.enqueue(queue: "stoppable", function: "f", options: .init(id: "reported"))
            let job = try #require(try await client.lease(queues: ["stoppable"]))
            let first = try await client.heartbeat(job, meta: ["step": "resize"])
            #expect(try await client.heartbeat(job, extend: 0, progress: 40) == first, "a report leaves the expiry alone")
            #expect(try await client.job("reported").meta == ["step": "resize", "progress": 40])
            #expect(try await client.stop("reported") == .stopped)
            #expect(await jobgateError { try await client.heartbeat(job) }?.code == .stopped)
            #expect(await jobgateError { try await client.ack(job) }?.code == .stopped)
            #expect(try await client.job("reported").state == .stopped)
            #expect(await jobgateError { try await client.stop("reported") }?.code == .wrongState)
            await client.close()
        }
    }

    @Test func stopCancelsAHandlerThatWouldRunForMinutes() async throws {
        try await withClient { gw, client in
            try await client.enqueue(queue: "long", function: "crunch", options: .init(id: "endless"))
            let events = EventLog()
            let ended = Box<(cancelled: Bool, at: Date)?>(nil)
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["long"], leaseFor: 120, leaseWait: 0.5, heartbeatInterval: 0.5),
                                onEvent: events.record) { job -> String in
                if job.function == "quick" { return "next job done" }
                try await job.report(meta: ["step": "crunching"])
                try await job.progress(25)
                do {
                    try await Task.sleep(for: .seconds(600))
                } catch {
                    ended.with { $0 = (Task.isCancelled, Date()) }
                    throw error
                }
                return "never acked"
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually { try await client.job("endless").meta?["progress"] == 25 })
            #expect(try await client.job("endless").meta == ["step": "crunching", "progress": 25])
            let stoppedAt = Date()
            #expect(try await client.stop("endless") == .stopped)
            #expect(try await eventually { ended.get != nil }, "the handler's task is cancelled")
            let end = try #require(ended.get)
            #expect(end.cancelled && end.at.timeIntervalSince(stoppedAt) < 3)
            try await client.enqueue(queue: "long", function: "quick", options: .init(id: "after"))
            #expect(try await eventually { events.acked.contains { $0.0.id == "after" } }, "the worker goes on")
            worker.stop()
            try await run.value
            let endless = try await client.job("endless")
            #expect(endless.state == .stopped && endless.result == nil)
            #expect(events.failed.isEmpty && events.released.isEmpty, "a stopped job is neither failed nor released")
            #expect(events.errors.contains { $0.contains("STOPPED") })
            await client.close()
        }
    }

    @Test func progressOutsideAHandlerOrOutOfRangeIsRefused() async throws {
        try await withClient { gw, client in
            try await client.enqueue(queue: "p", function: "f", options: .init(id: "p-1"))
            let job = try #require(try await client.lease(queues: ["p"]))
            await #expect(throws: JobgateClientError.self) { try await job.progress(10) }
            await #expect(throws: JobgateClientError.self) { try await job.progress(101) }
            await client.close()
        }
    }

    @Test func rqShutdownCommandEndsTheWorkerAfterItsJob() async throws {
        try await withClient { gw, client in
            try await client.enqueue(queue: "shut", function: "f", options: .init(id: "running"))
            try await client.enqueue(queue: "shut", function: "f", options: .init(id: "left-queued"))
            let release = Latch()
            let worker = Worker(address: gw.tcpAddress,
                                configuration: .init(queues: ["shut"], leaseWait: 0.5, name: "swift-shut")) { _ -> String in
                await release.wait()
                return "finished first"
            }
            let run = Task { try await worker.run() }
            #expect(try await eventually { try await client.job("running").state == .started })
            // What RQ's send_shutdown_command does.
            _ = try Spawn.output(["redis-cli", "-s", gw.redisSocket, "PUBLISH", "rq:pubsub:swift-shut", #"{"command":"shutdown"}"#])
            #expect(try await eventually {
                try Spawn.output(["redis-cli", "-s", gw.redisSocket, "EXISTS", "jobgate:shutdown:swift-shut"]).hasPrefix("1")
            })
            release.set()
            try await run.value   // returns by itself: nobody called stop()
            #expect(try await client.job("running").result == "finished first")
            #expect(try await client.job("left-queued").state == .queued)
            await client.close()
        }
    }
}
