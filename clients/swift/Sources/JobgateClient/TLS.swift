#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS

/// How a client checks the gateway behind a `tls://` address.
///
/// The gateway's certificate must chain to a trusted CA and name the address's host (a DNS name
/// or an IP address in its subjectAltName). A DNS host is also sent as SNI.
public struct JobgateTLSOptions: Sendable, Hashable {
    /// A PEM file with the CA certificates to trust. `nil` trusts the system's store.
    public var caFile: String?

    public init(caFile: String? = nil) {
        self.caFile = caFile
    }

    /// `JOBGATE_TLS_CA` from the environment as ``caFile``; the system's store when it is unset
    /// or empty.
    public static func fromEnvironment() -> JobgateTLSOptions {
        let value = getenv("JOBGATE_TLS_CA").map { String(cString: $0) }
        return fromEnvironment(["JOBGATE_TLS_CA": value].compactMapValues { $0 })
    }

    /// Like ``fromEnvironment()``, reading `JOBGATE_TLS_CA` from `environment`.
    public static func fromEnvironment(_ environment: [String: String]) -> JobgateTLSOptions {
        JobgateTLSOptions(caFile: environment["JOBGATE_TLS_CA"].flatMap { $0.isEmpty ? nil : $0 })
    }
}

/// The TLS side of one client's connections to `host`: the SSL context, built on the first
/// connection and kept (a failure is not kept, so a CA file that appears later is picked up), and
/// the explanation of a failed handshake.
final class TLSClient: Sendable {
    let options: JobgateTLSOptions
    let host: String
    private let context = NIOLockedValueBox<NIOSSLContext?>(nil)

    init(options: JobgateTLSOptions, host: String) {
        self.options = options
        self.host = host
    }

    /// What a new connection needs to start TLS. Throws ``JobgateClientError/tls(_:)`` when the
    /// CA file cannot be used.
    func prepare() throws -> TLSSetup {
        let sslContext = try context.withLockedValue { cached in
            if let cached { return cached }
            let made = try makeContext()
            cached = made
            return made
        }
        // SNI carries DNS names only; for an IP address, NIOSSL checks the certificate against
        // the peer's address instead.
        let isIPAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return TLSSetup(context: sslContext, serverHostname: isIPAddress ? nil : host)
    }

    private func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = options.caFile {
            guard access(caFile, R_OK) == 0 else {
                throw JobgateClientError.tls("cannot read the CA file '\(caFile)': \(String(cString: strerror(errno)))")
            }
            let certificates = (try? NIOSSLCertificate.fromPEMFile(caFile)) ?? []
            guard !certificates.isEmpty else {
                throw JobgateClientError.tls("the CA file '\(caFile)' holds no PEM certificate")
            }
            configuration.trustRoots = .certificates(certificates)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw JobgateClientError.tls("cannot set up TLS: \(error)")
        }
    }

    /// A clear error for a connection to `address` that TLS refused; nil for anything else (the
    /// connection broke, or the handshake timed out), which the caller reports as a lost
    /// connection.
    func explain(_ error: any Error, connectingTo address: JobgateAddress) -> JobgateClientError? {
        reason(for: error).map { .tls("\(address): \($0)") }
    }

    private func reason(for error: any Error) -> String? {
        if let error = error as? NIOSSLExtraError {
            guard error == .failedToValidateHostname else { return "\(error)" }
            return "the gateway's certificate does not name '\(host)' in its subjectAltName"
        }
        guard let error = error as? NIOSSLError else { return nil }
        switch error {
        case .handshakeFailed(let failure):
            let reasons = Self.reasonCodes(failure)
            if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
                let trusted = options.caFile.map { "the CA in '\($0)'" } ?? "the system's trusted CAs"
                return "the gateway's certificate could not be verified with \(trusted): another CA signed it, or it has expired"
            }
            if reasons.contains("WRONG_VERSION_NUMBER") {
                return "the peer does not speak TLS (WRONG_VERSION_NUMBER): is this port a tls:// listener of the gateway?"
            }
            return "the TLS handshake failed: " + (reasons.isEmpty ? "\(failure)" : reasons.joined(separator: ", "))
        case .uncleanShutdown:
            return nil
        default:
            return "\(error)"
        }
    }
}

extension TLSClient {
    /// BoringSSL's reason codes in a failure, such as `CERTIFICATE_VERIFY_FAILED`. NIOSSL has
    /// them only in each error's description: `error:1000007d:SSL routines:OPENSSL_internal:CODE`.
    static func reasonCodes(_ failure: BoringSSLError) -> [String] {
        let marker = "OPENSSL_internal:"
        return String(describing: failure).split(separator: marker, omittingEmptySubsequences: false).dropFirst().map {
            String($0.prefix { $0.isUppercase || $0.isNumber || $0 == "_" })
        }
    }
}

/// The handshake ended without TLS refusing anything: the peer went away or stayed silent.
struct TLSHandshakeIncomplete: Error, CustomStringConvertible {
    let description: String
}

/// A prepared SSL context and the name to send as SNI and to verify.
struct TLSSetup: Sendable {
    let context: NIOSSLContext
    let serverHostname: String?
}

/// Completes `handshake` when TLS is up or fails it with the reason TLS gave, so a connection
/// is handed out only after the gateway's certificate passed.
final class TLSHandshakeWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let handshake: EventLoopPromise<Void>

    init(handshake: EventLoopPromise<Void>) {
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshake.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(TLSHandshakeIncomplete(description: "the gateway closed the connection during the TLS handshake"))
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension TLSHandshakeWatcher: Sendable {}
