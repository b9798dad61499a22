import Foundation
import Testing
@testable import JobgateClient

@Suite("Pipelining on one connection")
struct PipelineTests {
    @Test func thousandConcurrentRequestsOnOneConnection() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let before = try #require(try await client.stats().gateway["connections_accepted"]?.intValue)

            // 1000 enqueues in flight at once, each with its own id and argument.
            let replies = try await withThrowingTaskGroup(of: (Int, EnqueuedJob).self) { group in
                for i in 0..<1000 {
                    group.addTask {
                        let job = try await client.enqueue(queue: "pipe", function: "f", args: [.int(i)],
                                                           options: .init(id: "p-\(i)"))
                        return (i, job)
                    }
                }
                var all: [Int: EnqueuedJob] = [:]
                for try await (i, job) in group { all[i] = job }
                return all
            }
            #expect(replies.count == 1000)
            #expect(replies.allSatisfy { $0.value.id == "p-\($0.key)" && $0.value.state == .queued })

            // Mixed ops in flight together: lookups, pings and failing lookups, each reply to its
            // own request. 3000 is past the gateway's 1024 in flight per connection, so it also
            // pauses reading until replies drain; the client keeps reading, so nothing stalls.
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<3000 {
                    group.addTask {
                        switch i % 3 {
                        case 0:
                            let n = i % 1000
                            let info = try await client.job("p-\(n)")
                            return info.id == "p-\(n)" && info.args == [.int(n)] ? 0 : 1
                        case 1:
                            return try await client.ping().redis == "ready" ? 0 : 1
                        default:
                            do {
                                _ = try await client.job("missing-\(i)")
                                return 1
                            } catch let error as JobgateError {
                                return error.code == .notFound && error.message.contains("missing-\(i)") ? 0 : 1
                            }
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)

            let stats = try await client.stats()
            #expect(stats.queues["pipe"]?.queued == 1000)
            #expect(stats.gateway["connections_accepted"]?.intValue == before, "every request used the one connection")
            await client.close()
        }
    }

    @Test func waitingRequestsDoNotHoldBackOthers() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let job = try await client.enqueue(queue: "other", function: "f")
            // A lease and a result that wait at the gateway, on the same client...
            async let leased = client.lease(queues: ["slow"], wait: 20)
            async let result = client.result(id: job.id, wait: 20)
            #expect(try await eventually {
                let leaseWaits = try await client.stats().gateway["waiting_leases"]?.intValue == 1
                let resultWaits = try gw.redis("HGET", "rq:job:\(job.id)", "jobgate_awaited") == "1"
                return leaseWaits && resultWaits
            })
            // ...while other requests on it are answered at once: they are not queued behind them.
            let start = ContinuousClock.now
            for _ in 0..<20 { #expect(try await client.ping().redis == "ready") }
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(try await client.stats().gateway["waiting_leases"]?.intValue == 1, "the lease is still waiting")

            let slowJob = try await client.enqueue(queue: "slow", function: "f")
            let got = try #require(try await leased)
            #expect(got.id == slowJob.id)
            let other = try #require(try await client.lease(queues: ["other"]))
            try await client.ack(other)
            #expect(try await result?.state == .finished)
            // Three connections: the main one and one for each waiting request.
            #expect(try await client.stats().gateway["connections"]?.intValue ?? 0 >= 3)
            await client.close()
        }
    }

    @Test func closeLetsAWaitingLeaseFinish() async throws {
        try await withGateway { gw in
            let client = gw.client()
            let producer = gw.client()
            async let leased = client.lease(queues: ["late"], wait: 20)
            #expect(try await eventually { try await producer.stats().gateway["waiting_leases"]?.intValue == 1 })
            await client.close()
            await #expect(throws: JobgateClientError.clientClosed) { _ = try await client.ping() }
            // The waiting lease kept its connection, so the job it takes is not stranded.
            let job = try await producer.enqueue(queue: "late", function: "f")
            #expect(try await leased?.id == job.id)
            // Its connection closes once the reply is in.
            #expect(try await eventually { try await producer.stats().gateway["connections"]?.intValue == 1 })
            await producer.close()
        }
    }
}
