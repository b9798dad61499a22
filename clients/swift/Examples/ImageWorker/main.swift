// jobgate-image-worker: a producer and a worker for "image" jobs, using JobgateClient.
//
//   jobgate-image-worker demo [N]      enqueue N jobs, run a worker until all are done, print results
//   jobgate-image-worker produce [N]   enqueue N jobs and print their ids
//   jobgate-image-worker work          run a worker until SIGINT/SIGTERM (then stop gracefully)
//
// The gateway address comes from JOBGATE_ADDR (tcp://HOST:PORT, tls://HOST:PORT or unix:PATH),
// else tcp://127.0.0.1:7700, the token (for a gateway started with --token) from JOBGATE_TOKEN,
// and for tls:// the CA file to trust from JOBGATE_TLS_CA (else the system's CAs).
// Start a gateway with `scripts/run` from the repository root.

import Dispatch
import Foundation
import JobgateClient

/// The job's payload: what a producer asks for.
struct ResizeRequest: Codable, Sendable {
    var source: String
    var widths: [Int]
    var format: String
}

/// The job's result: what the worker made.
struct ResizeResult: Codable, Sendable {
    struct Output: Codable, Sendable {
        var path: String
        var width: Int
        var height: Int
    }
    var outputs: [Output]
}

enum ImageError: Error, CustomStringConvertible {
    case unsupportedFormat(String)
    var description: String {
        switch self {
        case .unsupportedFormat(let f): "ImageError: unsupported format '\(f)'"
        }
    }
}

let queue = "images"

/// Pretends to resize an image: checks the request, "works" for a moment, returns output paths.
/// A real worker would call an image library here. It checks for cancellation, which is how a
/// lost lease (or a hard stop) reaches it.
@Sendable
func resize(_ job: LeasedJob) async throws -> ResizeResult {
    let request = try job.payload(as: ResizeRequest.self)
    guard ["png", "jpeg", "webp"].contains(request.format) else { throw ImageError.unsupportedFormat(request.format) }
    var outputs: [ResizeResult.Output] = []
    for width in request.widths {
        try await Task.sleep(for: .milliseconds(50))   // the "work"; throws if cancelled
        let stem = (request.source as NSString).deletingPathExtension
        outputs.append(.init(path: "\(stem)-\(width).\(request.format)", width: width, height: width * 3 / 4))
    }
    return ResizeResult(outputs: outputs)
}

func makeWorker(_ address: JobgateAddress, token: String?, tls: JobgateTLSOptions, log: Bool) -> Worker {
    Worker(
        address: address,
        token: token,
        tls: tls,
        configuration: .init(queues: ["images-urgent", queue], concurrency: 4, leaseWait: 1),
        onEvent: { event in
            guard log else { return }
            switch event {
            case .acked(let job, _): print("worker: done   \(job.id)")
            case .failed(let job, let error, let outcome): print("worker: failed \(job.id): \(error) -> \(outcome.state)")
            case .leaseLost(let job): print("worker: lost the lease on \(job.id); dropped it")
            case .error(_, let error): print("worker: \(error)")
            case .started, .released: break
            }
        },
        handler: resize)
}

/// SIGINT/SIGTERM: stop leasing, let running jobs finish, then `run()` returns. (A global
/// function, so the handler is not tied to the main actor, which top-level code runs on.)
func stopOnSignals(_ worker: Worker) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { @Sendable in
            print("stopping: finishing running jobs")
            worker.stop()
        }
        source.resume()
        return source
    }
}

func produce(_ client: JobgateClient, count: Int) async throws -> [String] {
    var jobs = (0..<count).map { i in
        try! NewJob(queue: nil, function: "images.resize",
                    payload: ResizeRequest(source: "uploads/photo-\(i).png", widths: [64, 256, 1024], format: "png"),
                    options: .init(retries: 2, retryIntervals: [1, 5], resultTTL: 3600))
    }
    // One bad request, to show a failure: no retries are left for it, so it is failed for good.
    jobs.append(try NewJob(queue: nil, function: "images.resize",
                           payload: ResizeRequest(source: "uploads/scan.tiff", widths: [64], format: "tiff")))
    // One batch: one round trip, one atomic step.
    let results = try await client.enqueueBatch(jobs, defaultQueue: queue)
    return try results.map { try $0.get().id }
}

let arguments = CommandLine.arguments.dropFirst()
let mode = arguments.first ?? "demo"
let count = arguments.dropFirst().first.flatMap(Int.init) ?? 8

do {
    let address = try JobgateAddress.fromEnvironment()
    let token = ProcessInfo.processInfo.environment["JOBGATE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    let tls = JobgateTLSOptions.fromEnvironment()
    let client = JobgateClient(address: address, token: token, tls: tls)
    let ping = try await client.ping()
    print("jobgate \(ping.version) at \(address), redis \(ping.redis)")

    switch mode {
    case "produce":
        for id in try await produce(client, count: count) { print(id) }

    case "work":
        let worker = makeWorker(address, token: token, tls: tls, log: true)
        let sources = stopOnSignals(worker)
        print("working on \(worker.configuration.queues) as \(worker.configuration.name); ^C to stop")
        try await worker.run()
        sources.forEach { $0.cancel() }

    case "demo":
        let ids = try await produce(client, count: count)
        print("enqueued \(ids.count) jobs")
        let worker = makeWorker(address, token: token, tls: tls, log: false)
        let running = Task { try await worker.run() }
        for id in ids {
            // `result` waits at the gateway until the job ends (on a connection of its own).
            guard let info = try await client.result(id: id, wait: 60) else {
                print("\(id): not done within 60 s")
                continue
            }
            if info.state == .finished {
                let result = try info.result(as: ResizeResult.self)
                print("\(id): \(result.outputs.map(\.path).joined(separator: ", "))")
            } else {
                print("\(id): \(info.state): \(info.error ?? "")")
            }
        }
        worker.stop()
        try await running.value
        let stats = try await client.stats()
        if let counts = stats.queues[queue] {
            print("queue \(queue): \(counts.finished) finished, \(counts.failed) failed, \(counts.queued) queued")
        }

    default:
        print("usage: jobgate-image-worker [demo [N] | produce [N] | work]")
        exit(2)
    }
    await client.close()
} catch {
    print("error: \(error)")
    exit(1)
}
