/// The stable error codes of the wire protocol (protocol.md lists when each is used).
public enum ErrorCode: String, Sendable, CaseIterable {
    case badRequest = "BAD_REQUEST"
    case unknownOp = "UNKNOWN_OP"
    case notFound = "NOT_FOUND"
    case leaseLost = "LEASE_LOST"
    case duplicate = "DUPLICATE"
    case wrongState = "WRONG_STATE"
    /// A Redis key of the queue holds another type than RQ keeps there (another program wrote it).
    case wrongType = "WRONG_TYPE"
    /// The job was stopped (`stop`, or RQ's stop commands) while this lease held it.
    case stopped = "STOPPED"
    case tooLarge = "TOO_LARGE"
    case unauthorized = "UNAUTHORIZED"
    case overloaded = "OVERLOADED"
    case unavailable = "UNAVAILABLE"
    case `internal` = "INTERNAL"

    /// Whether sending the same request again later can succeed.
    public var retryable: Bool { self == .unavailable || self == .overloaded }
}

public struct OpError: Error, Sendable {
    public let code: ErrorCode
    public let message: String
    /// For DUPLICATE: the id that already exists.
    public var id: String? = nil

    public init(_ code: ErrorCode, _ message: String, id: String? = nil) {
        self.code = code
        self.message = message
        self.id = id
    }

    static func bad(_ message: String) -> OpError { OpError(.badRequest, message) }
}
