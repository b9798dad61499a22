import Foundation
import Testing
@testable import JobgateClient

@Suite("Registry ops, dependencies and batch ack")
struct RegistryTests {
    @Test func cancelDeleteFailedRequeue() async throws {
        try await withGateway { gw in
            let client = gw.client()
            // cancel: only jobs that have not started.
            let later = try await client.enqueue(queue: "reg", function: "f", options: .init(schedule: .delay(3600)))
            #expect(try await client.cancel(later.id) == .canceled)
            #expect(try await client.job(later.id).state == .canceled)
            let again = await jobgateError { try await client.cancel(later.id) }
            #expect(again?.code == .wrongState)

            // failed: a page of the failed registry, oldest first.
            for i in 0..<3 {
                try await client.enqueue(queue: "reg", function: "f", args: [.int(i)], options: .init(id: "bad-\(i)"))
            }
            for _ in 0..<3 {
                let job = try #require(try await client.lease(queues: ["reg"]))
                try await client.fail(job, error: "error \(job.id)", retry: false)
            }
            let page = try await client.failedJobs(queue: "reg", limit: 2)
            #expect(page.total == 3)
            #expect(page.jobs.map(\.id) == ["bad-0", "bad-1"])
            #expect(page.jobs.first?.error == "error bad-0")
            let rest = try await client.failedJobs(queue: "reg", offset: 2)
            #expect(rest.jobs.map(\.id) == ["bad-2"])

            // requeue one, then all.
            let one = try await client.requeue("bad-1")
            #expect(one.requeued == 1)
            #expect(one.stillFailed == 2)
            #expect(try await client.job("bad-1").state == .queued)
            let step = try await client.requeue(queue: "reg", limit: 1)
            #expect(step.requeued == 1)
            #expect(step.stillFailed == 1)
            #expect(try await client.job("bad-0").state == .queued, "oldest failure first")
            let all = try await client.requeueAll(queue: "reg")
            #expect(all.requeued == 1)
            #expect(all.stillFailed == 0)
            #expect(try await client.stats().queues["reg"]?.queued == 3)

            // delete: every trace, even of a leased job; its holder's ack answers NOT_FOUND.
            let leased = try #require(try await client.lease(queues: ["reg"]))
            #expect(try await client.delete(leased.id) == .deleted)
            #expect(await jobgateError { _ = try await client.job(leased.id) }?.code == .notFound)
            #expect(await jobgateError { try await client.ack(leased) }?.code == .notFound)
            await client.close()
        }
    }

    @Test func pauseAndResume() async throws {
        try await withGateway { gw in
            let client = gw.client()
            try await client.enqueue(queue: "thumbs", function: "f", options: .init(id: "t-1"))
            let paused = try await client.pause(queue: "thumbs")
            #expect(paused.paused)
            #expect(paused.queued == 1)
            #expect(try await client.stats().queues["thumbs"]?.paused == true)
            #expect(try await client.lease(queues: ["thumbs"]) == nil, "a paused queue hands out nothing")

            // A waiting lease is woken when the queue resumes.
            async let waiting = client.lease(queues: ["thumbs"], wait: 20)
            #expect(try await eventually { try await client.stats().gateway["waiting_leases"]?.intValue == 1 })
            let resumed = try await client.resume(queue: "thumbs")
            #expect(!resumed.paused)
            #expect(try await waiting?.id == "t-1")
            await client.close()
        }
    }

    @Test func dependenciesDeferUntilParentsFinish() async throws {
        try await withGateway { gw in
            let client = gw.client()
            try await client.enqueue(queue: "reports", function: "reports.build", options: .init(id: "build-7"))
            let child = try await client.enqueue(queue: "emails", function: "mail.report",
                                                 options: .init(id: "mail-7", dependsOn: ["build-7"]))
            #expect(child.state == .deferred)
            #expect(try await client.lease(queues: ["emails"]) == nil)
            let parent = try #require(try await client.lease(queues: ["reports"]))
            try await client.ack(parent)
            let released = try #require(try await client.lease(queues: ["emails"], wait: 5))
            #expect(released.id == "mail-7")

            let missing = await jobgateError {
                try await client.enqueue(queue: "emails", function: "f", options: .init(dependsOn: ["no-such-parent"]))
            }
            #expect(missing?.code == .notFound)
            let both = await jobgateError {
                try await client.enqueue(queue: "emails", function: "f",
                                         options: .init(schedule: .delay(5), dependsOn: ["build-7"]))
            }
            #expect(both?.code == .badRequest)
            await client.close()
        }
    }

    @Test func batchAck() async throws {
        try await withGateway { gw in
            let client = gw.client()
            for i in 0..<3 { try await client.enqueue(queue: "b", function: "f", options: .init(id: "b-\(i)")) }
            let jobs = try await client.lease(queues: ["b"], count: 3)
            #expect(jobs.count == 3)
            try await client.ack(jobs[2])
            let answers = try await client.ackBatch([
                try AckItem(jobs[0], result: ["n": 0] as JSONValue),
                AckItem(jobs[1]),
                AckItem(id: jobs[2].id, lease: String(repeating: "0", count: 32)),
                AckItem(jobs[2]),
            ])
            #expect(answers.count == 4)
            #expect(try answers[0].get() == .finished)
            #expect(try answers[1].get() == .finished)
            #expect(try answers[3].get() == .finished, "the same ack again answers as the first")
            guard case .failure(let lost) = answers[2] else {
                Issue.record("another lease on an acked job should fail its item")
                return
            }
            #expect(lost.code == .leaseLost)
            #expect(lost.id == "b-2")
            #expect(try await client.job("b-0").result == ["n": 0])
            await client.close()
        }
    }
}
