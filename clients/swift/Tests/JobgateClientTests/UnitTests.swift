import Foundation
import Testing
@testable import JobgateClient

@Suite("Addresses, JSON and request lines (no gateway)")
struct UnitTests {
    @Test func parsesAddresses() throws {
        #expect(try JobgateAddress(parsing: "tcp://127.0.0.1:7700") == .tcp(host: "127.0.0.1", port: 7700))
        #expect(try JobgateAddress(parsing: "tcp://jobs.internal:9000") == .tcp(host: "jobs.internal", port: 9000))
        #expect(try JobgateAddress(parsing: "tcp://[::1]:7700") == .tcp(host: "::1", port: 7700))
        #expect(try JobgateAddress(parsing: "unix:/run/jobgate.sock") == .unix(path: "/run/jobgate.sock"))
        #expect(try JobgateAddress(parsing: "unix:///run/jobgate.sock") == .unix(path: "/run/jobgate.sock"))
        #expect(try JobgateAddress(parsing: "unix:rel/gw.sock") == .unix(path: "rel/gw.sock"))
        #expect(try JobgateAddress(parsing: "tls://jobs.internal:7443") == .tls(host: "jobs.internal", port: 7443))
        #expect(try JobgateAddress(parsing: "tls://[::1]:7443") == .tls(host: "::1", port: 7443))
        for bad in ["", "127.0.0.1:7700", "tcp://host", "tcp://:7700", "tcp://h:0", "tcp://h:70000", "tcp://h:x",
                    "unix:", "http://h:1", "tcp://[::1]7700", "tls://host", "tls://:7443", "tls://h:0", "ssl://h:1"] {
            #expect(throws: JobgateClientError.self, "\(bad)") { try JobgateAddress(parsing: bad) }
        }
        #expect(JobgateAddress.tcp(host: "::1", port: 7700).description == "tcp://[::1]:7700")
        #expect(JobgateAddress.unix(path: "/x.sock").description == "unix:/x.sock")
        #expect(JobgateAddress.tls(host: "::1", port: 7443).description == "tls://[::1]:7443")
        #expect(JobgateAddress.tls(host: "jobs.internal", port: 7443).description == "tls://jobs.internal:7443")
    }

    @Test func addressFromEnvironment() throws {
        #expect(try JobgateAddress.fromEnvironment([:]) == .tcp(host: "127.0.0.1", port: 7700))
        #expect(try JobgateAddress.fromEnvironment(["JOBGATE_ADDR": ""]) == .tcp(host: "127.0.0.1", port: 7700))
        #expect(try JobgateAddress.fromEnvironment(["JOBGATE_ADDR": "unix:/tmp/g.sock"]) == .unix(path: "/tmp/g.sock"))
        #expect(throws: JobgateClientError.self) { try JobgateAddress.fromEnvironment(["JOBGATE_ADDR": "nonsense"]) }
        #expect(try JobgateAddress.fromEnvironment(["JOBGATE_ADDR": "tls://10.0.0.5:7443"]) == .tls(host: "10.0.0.5", port: 7443))
    }

    @Test func tlsOptionsFromEnvironment() {
        #expect(JobgateTLSOptions.fromEnvironment([:]).caFile == nil, "the system's CAs")
        #expect(JobgateTLSOptions.fromEnvironment(["JOBGATE_TLS_CA": ""]).caFile == nil)
        #expect(JobgateTLSOptions.fromEnvironment(["JOBGATE_TLS_CA": "/etc/jobgate/ca.pem"]).caFile == "/etc/jobgate/ca.pem")
    }

    @Test func jsonValueRoundTripsThroughText() throws {
        let value: JSONValue = ["s": "q\"\\/\n\t\u{1}é", "i": -42, "d": 0.1, "b": false, "n": nil,
                                "a": [1, [2, ["x": 3]]], "big": .int(Int.max)]
        let text = value.description
        #expect(!text.contains("\n"))
        #expect(text.hasPrefix(#"{"a":[1,[2,{"x":3}]],"b":false,"big":9223372036854775807,"d":0.1"#), "keys sorted, compact")
        let parsed = try RawJSON(validating: text).value()
        #expect(parsed == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data("1.0".utf8)).doubleValue == 1)
        #expect(JSONValue.double(2.0).intValue == 2)
        #expect(JSONValue.double(2.5).intValue == nil)
        #expect(value["a"]?[1]?[1]?["x"] == 3)
    }

    @Test func requestLinesAreOneCompactObject() throws {
        var options = EnqueueOptions(id: "j-1", atFront: true, schedule: .delay(1.5), timeout: 10, retries: 3,
                                     retryIntervals: [10, 60], resultTTL: 0, failureTTL: -1, ttl: 5,
                                     description: "d", meta: ["m": true])
        var w = RequestWriter(op: "enqueue")
        try NewJob(queue: "q", function: "f", args: ["a"], kwargs: ["k": 1], options: options).write(into: &w)
        let line = String(decoding: w.line, as: UTF8.self)
        #expect(line == #"{"op":"enqueue","queue":"q","func":"f","args":["a"],"kwargs":{"k":1},"id":"j-1","at_front":true,"delay":1.5,"timeout":10,"retries":3,"retry_intervals":[10,60],"result_ttl":0,"failure_ttl":-1,"ttl":5,"description":"d","meta":{"m":true}}"# + "\n")

        options.schedule = .delay(.nan)
        var bad = RequestWriter(op: "enqueue")
        #expect(throws: JobgateClientError.self) {
            try NewJob(queue: "q", function: "f", options: options).write(into: &bad)
        }
    }

    @Test func codablePayloadBecomesTheOnlyPositionalArgument() throws {
        struct P: Codable { var url: String }
        let job = try NewJob(queue: "q", function: "f", payload: P(url: "https://x/y"))
        #expect(job.args.description == #"[{"url":"https://x/y"}]"#)
        #expect(job.kwargs.description == "{}")
        let raw = try NewJob(queue: "q", function: "f", payload: RawJSON(validating: "[1, 2]"))
        #expect(raw.args.description == "[[1, 2]]")
    }

    @Test func slotPoolNeverHandsOutMoreThanItHas() async throws {
        let pool = SlotPool(3)
        #expect(await pool.acquireAll() == 3)
        async let next = pool.acquireAll()
        pool.give(1)
        pool.give(1)
        let got = await next
        #expect(got >= 1 && got <= 2)
        pool.close()
        #expect(await pool.acquireAll() == 0)
    }

    @Test func latchWakesWaitersAndTimesOut() async throws {
        let latch = Latch()
        let start = ContinuousClock.now
        await latch.wait(timeout: 0.05)
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        #expect(!latch.isSet)
        async let waiting: Void = latch.wait()
        latch.set()
        await waiting
        #expect(latch.isSet)
        await latch.wait(timeout: 60)   // returns at once once set
    }
}
