import Foundation
import Testing
@testable import JobgateClient

/// Runs `body` with a gateway that also listens on `tls://127.0.0.1` with a certificate for
/// `serverNames`, signed by a CA made for this test.
func withTLSGateway(
    token: String? = nil, serverNames: String = "IP:127.0.0.1,DNS:localhost",
    _ body: (TestGateway, TestCertificates) async throws -> Void
) async throws {
    let certificates = try TestCertificates(serverNames: serverNames)
    defer { certificates.remove() }
    try await withGateway(token: token, tls: certificates) { gw in try await body(gw, certificates) }
}

/// The ``JobgateClientError/tls(_:)`` message that `body` throws with; records an issue otherwise.
func tlsError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> String? {
    let error = await thrownError(JobgateClientError.self, body, sourceLocation: sourceLocation)
    guard case .tls(let message)? = error else {
        if let error { Issue.record("expected a TLS error, got \(error)", sourceLocation: sourceLocation) }
        return nil
    }
    return message
}

@Suite("TLS: tls:// addresses, certificate checks, tokens")
struct TLSTests {
    @Test func producerAndWorkerOverTLS() async throws {
        try await withTLSGateway { gw, certificates in
            let trust = JobgateTLSOptions(caFile: certificates.caFile)
            let client = JobgateClient(address: gw.tlsAddress, tls: trust)
            for i in 0..<3 {
                try await client.enqueue(queue: "secure", function: "double", args: [.int(i)], options: .init(id: "s-\(i)"))
            }
            let events = EventLog()
            let worker = Worker(address: gw.tlsAddress, tls: trust,
                                configuration: .init(queues: ["secure"], concurrency: 2, leaseWait: 0.5),
                                onEvent: events.record) { job -> Int in
                try job.argument(0, as: Int.self) * 2
            }
            let run = Task { try await worker.run() }
            for i in 0..<3 {
                // Waits on a side connection, which goes through its own TLS handshake.
                let done = try #require(try await client.result(id: "s-\(i)", wait: 15))
                #expect(done.state == .finished)
                #expect(done.result == .int(i * 2))
            }
            worker.stop()
            try await run.value
            #expect(events.acked.count == 3)
            #expect(events.errors.isEmpty)

            // A DNS name is checked against the certificate (and sent as SNI) as well.
            let byName = JobgateClient(address: .tls(host: "localhost", port: gw.tlsPort), tls: trust)
            #expect(try await byName.job("s-0").state == .finished)
            for c in [client, byName] { await c.close() }
        }
    }

    @Test func gatewaySignedByAnotherCAIsRefused() async throws {
        try await withTLSGateway { gw, certificates in
            let wrongCA = JobgateClient(address: gw.tlsAddress, tls: .init(caFile: certificates.otherCAFile))
            let message = await tlsError { _ = try await wrongCA.ping() }
            #expect(message?.contains("could not be verified with the CA in '\(certificates.otherCAFile)'") == true,
                    "\(message ?? "")")
            #expect(message?.contains(gw.tlsAddress.description) == true, "names the address")

            // The default trusts only the system's CAs, and none of them signed this certificate.
            let systemTrust = JobgateClient(address: gw.tlsAddress)
            let systemMessage = await tlsError { _ = try await systemTrust.ping() }
            #expect(systemMessage?.contains("the system's trusted CAs") == true, "\(systemMessage ?? "")")

            // A worker cannot fix this by trying again: run() ends with the error.
            let worker = Worker(address: gw.tlsAddress, tls: .init(caFile: certificates.otherCAFile),
                                configuration: .init(queues: ["secure"])) { _ in }
            #expect(await tlsError { try await worker.run() } != nil)
            for c in [wrongCA, systemTrust] { await c.close() }
        }
    }

    @Test func certificateForAnotherHostIsRefused() async throws {
        try await withTLSGateway(serverNames: "DNS:elsewhere.test") { gw, certificates in
            let client = JobgateClient(address: gw.tlsAddress, tls: .init(caFile: certificates.caFile))
            let message = await tlsError { _ = try await client.ping() }
            #expect(message?.contains("does not name '127.0.0.1'") == true, "\(message ?? "")")
            await client.close()
        }
    }

    @Test func tokenOverTLSOnEveryConnection() async throws {
        try await withTLSGateway(token: "s3cret") { gw, certificates in
            let trust = JobgateTLSOptions(caFile: certificates.caFile)
            let anonymous = JobgateClient(address: gw.tlsAddress, tls: trust)
            #expect(await jobgateError { _ = try await anonymous.ping() }?.code == .unauthorized)
            let wrong = JobgateClient(address: gw.tlsAddress, token: "guess", tls: trust)
            let refused = await jobgateError { try await wrong.enqueue(queue: "q", function: "f") }
            #expect(refused?.code == .unauthorized)
            #expect(refused?.message.contains("guess") == false, "the token is not echoed")

            let client = JobgateClient(address: gw.tlsAddress, token: "s3cret", tls: trust)
            try await client.enqueue(queue: "private", function: "a.b", options: .init(id: "tls-auth"))
            // A side connection authenticates too.
            let leased = try #require(try await client.lease(queues: ["private"], wait: 1))
            #expect(try await client.ack(leased) == .finished)

            // A new gateway process: the client connects again and authenticates again.
            try await gw.restartGateway()
            #expect(try await client.job("tls-auth").state == .finished)
            for c in [anonymous, wrong, client] { await c.close() }
        }
    }

    @Test func tlsClientAtAPlainListenerFailsInsteadOfHanging() async throws {
        try await withGateway { gw in
            let client = JobgateClient(address: .tls(host: "127.0.0.1", port: gw.port), connectTimeout: 1)
            let start = ContinuousClock.now
            await #expect(throws: JobgateClientError.self) { _ = try await client.ping() }
            #expect(ContinuousClock.now - start < .seconds(5))
            await client.close()
        }
    }

    @Test func silentPeerEndsTheHandshakeAtTheConnectTimeout() async throws {
        // A listening socket that never accepts: the kernel completes TCP, nobody answers TLS.
        let listener = try SilentListener()
        defer { listener.stop() }
        let client = JobgateClient(address: .tls(host: "127.0.0.1", port: listener.port), connectTimeout: 0.5)
        let start = ContinuousClock.now
        let error = await thrownError(JobgateClientError.self) { _ = try await client.ping() }
        guard case .connectionLost(let message)? = error else {
            Issue.record("expected connectionLost, got \(String(describing: error))")
            return
        }
        #expect(message.contains("the TLS handshake did not finish within 0.5 s"), "\(message)")
        #expect(ContinuousClock.now - start < .seconds(5))
        await client.close()
    }

    @Test func unusableCAFileIsAClearError() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let address = JobgateAddress.tls(host: "127.0.0.1", port: TestGateway.freePort())
        let missing = certificates.dir + "/missing.pem"
        let noFile = JobgateClient(address: address, tls: .init(caFile: missing))
        #expect(await tlsError { _ = try await noFile.ping() }?.contains(missing) == true)
        // A key is PEM, but not a certificate.
        let notACertificate = JobgateClient(address: address, tls: .init(caFile: certificates.serverKey))
        #expect(await tlsError { _ = try await notACertificate.ping() }?.contains(certificates.serverKey) == true)
    }
}

/// A TCP socket on a free port of 127.0.0.1 that listens but never accepts.
final class SilentListener {
    private let fd: Int32
    let port: Int

    init() throws {
        (fd, port) = TestGateway.boundSocket()
        guard listen(fd, 8) == 0 else {
            close(fd)
            throw Spawn.Failure(description: "cannot listen on 127.0.0.1:\(port)")
        }
    }

    func stop() {
        close(fd)
    }
}
