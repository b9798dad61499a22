/// An error reply from jobgate: `{"ok":false,"error":{"code":...,"message":...}}`.
///
/// ```swift
/// do {
///     try await client.enqueue(job)
/// } catch let error as JobgateError where error.code == .duplicate {
///     // already there: with your own ids, treat this as success
/// }
/// ```
public struct JobgateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The protocol's error code. Codes this client does not know yet arrive as ``unknown(_:)``.
    public enum Code: Sendable, Hashable, CustomStringConvertible {
        /// Malformed JSON, a missing or wrongly typed field, a value out of range, an unknown field.
        case badRequest
        /// `op` names no operation.
        case unknownOp
        /// No job with that id.
        case notFound
        /// The lease expired or was reassigned: drop the work, the job runs again.
        case leaseLost
        /// The job was stopped (`stop`, or RQ's stop commands) while this lease held it: drop the
        /// work; it runs again only if requeued.
        case stopped
        /// `enqueue` with an `id` that already exists (``JobgateError/id`` names it).
        case duplicate
        /// The job is not in a state the op applies to (`cancel` of a started job, `requeue` of
        /// a job that has not failed).
        case wrongState
        /// The request line was longer than the gateway's `max_line`.
        case tooLarge
        /// The gateway has a token and this TCP or TLS connection has not sent `auth` with it
        /// (give the client a token), or sent a wrong one.
        case unauthorized
        /// The gateway has `--max-connections` open; it closes the connection. Retryable.
        case overloaded
        /// Redis is unreachable, loading, read-only or slow. Retryable.
        case unavailable
        /// A bug or an unexpected Redis error.
        case `internal`
        /// A code this version of the client does not know.
        case unknown(String)

        public init(rawValue: String) {
            switch rawValue {
            case "BAD_REQUEST": self = .badRequest
            case "UNKNOWN_OP": self = .unknownOp
            case "NOT_FOUND": self = .notFound
            case "LEASE_LOST": self = .leaseLost
            case "STOPPED": self = .stopped
            case "DUPLICATE": self = .duplicate
            case "WRONG_STATE": self = .wrongState
            case "TOO_LARGE": self = .tooLarge
            case "UNAUTHORIZED": self = .unauthorized
            case "OVERLOADED": self = .overloaded
            case "UNAVAILABLE": self = .unavailable
            case "INTERNAL": self = .internal
            default: self = .unknown(rawValue)
            }
        }

        /// The code as it appears on the wire, e.g. `LEASE_LOST`.
        public var rawValue: String {
            switch self {
            case .badRequest: "BAD_REQUEST"
            case .unknownOp: "UNKNOWN_OP"
            case .notFound: "NOT_FOUND"
            case .leaseLost: "LEASE_LOST"
            case .stopped: "STOPPED"
            case .duplicate: "DUPLICATE"
            case .wrongState: "WRONG_STATE"
            case .tooLarge: "TOO_LARGE"
            case .unauthorized: "UNAUTHORIZED"
            case .overloaded: "OVERLOADED"
            case .unavailable: "UNAVAILABLE"
            case .internal: "INTERNAL"
            case .unknown(let s): s
            }
        }

        public var description: String { rawValue }
    }

    /// The error code.
    public let code: Code
    /// The gateway's human-readable message.
    public let message: String
    /// True when the request may succeed if sent again (the gateway says so for `UNAVAILABLE`
    /// and `OVERLOADED`).
    public let retryable: Bool
    /// For `DUPLICATE`: the id that already exists. For a failed batch item: that item's id.
    public let id: String?

    public init(code: Code, message: String, retryable: Bool? = nil, id: String? = nil) {
        self.code = code
        self.message = message
        self.retryable = retryable ?? (code == .unavailable || code == .overloaded)
        self.id = id
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// A failure on the client's side of the wire: the connection, the address or a reply.
///
/// A request that fails with ``connectionLost(_:)`` may or may not have taken effect on the
/// gateway. Producers that must not create a job twice pass their own ids and treat
/// `DUPLICATE` as success when they send again.
public enum JobgateClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `JOBGATE_ADDR` or an address string is not `tcp://HOST:PORT`, `tls://HOST:PORT` or `unix:PATH`.
    case invalidAddress(String)
    /// The connection closed or broke before the reply arrived.
    case connectionLost(String)
    /// The client was closed with ``JobgateClient/close()``.
    case clientClosed
    /// A reply was not the JSON this client expects.
    case malformedReply(String)
    /// A value could not be put into a request (e.g. a non-finite number, invalid raw JSON).
    case invalidArgument(String)
    /// A `tls://` connection was refused by TLS: the gateway's certificate is not trusted or does
    /// not name the host, the handshake failed, or the CA file cannot be used. Sending again does
    /// not help until the certificate or the configuration changes.
    case tls(String)

    public var description: String {
        switch self {
        case .invalidAddress(let s): "invalid jobgate address: \(s)"
        case .connectionLost(let s): "connection to jobgate lost: \(s)"
        case .clientClosed: "the jobgate client is closed"
        case .malformedReply(let s): "malformed reply from jobgate: \(s)"
        case .invalidArgument(let s): "invalid argument: \(s)"
        case .tls(let s): "TLS with jobgate failed: \(s)"
        }
    }
}
