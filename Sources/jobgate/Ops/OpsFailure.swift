import ArgumentParser
@preconcurrency import Glibc

/// A failed operator command: the gateway's error code (or one of ours for failures that never
/// reached it) and the text to show. Printed as `jobgate: CODE: message`.
struct OpsFailure: Error {
    let code: String
    let message: String

    /// The process exit status scripts can branch on; `exitStatusHelp` documents it.
    var exitStatus: Int32 {
        switch code {
        case "BAD_REQUEST", Self.usage: 2
        case "NOT_FOUND": 3
        // OVERLOADED is the gateway refusing the connection: retryable, like a connection failure.
        case "UNAVAILABLE", "OVERLOADED", Self.connectionFailed, Self.timedOut: 4
        default: 1
        }
    }

    /// Codes for failures found on this side of the socket.
    static let usage = "USAGE"
    static let connectionFailed = "CONNECTION_FAILED"
    static let timedOut = "TIMEOUT"
    static let badReply = "BAD_REPLY"

    static func usage(_ message: String) -> OpsFailure { OpsFailure(code: usage, message: message) }
}

/// The help text every operator command ends with.
let exitStatusHelp = """
    Exit status:
      0  success
      1  another gateway error (WRONG_STATE, DUPLICATE, UNAUTHORIZED, ...)
      2  BAD_REQUEST, or an option value this command rejects
      3  NOT_FOUND: no job with that id
      4  UNAVAILABLE or OVERLOADED, no connection, or no reply in time
      64 a malformed command line (unknown option, missing argument)
    Errors go to stderr as `jobgate: CODE: message`.
    """

/// Runs a command body, turning an `OpsFailure` into its message on stderr and its exit status.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as OpsFailure {
        writeToStandardError("jobgate: \(failure.code): \(failure.message)\n")
        throw ExitCode(failure.exitStatus)
    }
}

func writeToStandardError(_ text: String) {
    fputs(text, stderr)
    fflush(stderr)
}
