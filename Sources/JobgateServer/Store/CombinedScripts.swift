@preconcurrency import COpenSSL

/// Every script as Redis gets it: one text (`Script.dispatcher`), loaded two ways.
///
/// - As a function library (`FUNCTION LOAD`, then `FCALL`): its top level, the prelude's
///   functions and the script groups, runs once, at load, so a call pays for its ops only. It
///   registers one function per `Script.Access`, whose flags tell a full Redis (maxmemory)
///   what it may run: reads and heartbeats, not writes, each refused whole before it starts.
/// - As a plain script (`SCRIPT LOAD`, then `EVALSHA`): the top level runs again on every call,
///   about 8 µs more Redis time. It serves a Redis without functions (before 7.0), a user not
///   allowed them, and calls made while a flushed library is loaded again.
///
/// The two differ in their first and last lines only, so a Lua error's line number is the
/// same in both, and `jobgate debug script` prints the lines of either.
public struct CombinedScripts: Sendable {
    /// The library's name, `jobgate_` and the text's SHA-1, so gateways of different versions
    /// sharing one Redis each call their own; its functions are named after it (`functionNames`).
    public let name: String
    public let library: [UInt8]
    public let plain: [UInt8]

    /// `FCALL`'s first argument for each kind of batch, made once: every script call sends one.
    let functionNames: [Script.Access: [UInt8]]

    public init(_ scripts: [Script]) {
        let text = Script.dispatcher(scripts)
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        _ = text.withUnsafeBufferPointer { SHA1($0.baseAddress, $0.count, &digest) }
        let name = "jobgate_" + digest.prefix(8).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
        // One line, so the library has as many lines as the plain script.
        let functions = Script.Access.allCases.map { access in
            "redis.register_function{function_name = '\(name + access.function.suffix)', flags = \(access.function.flags), callback = function(_, args) return dispatch(args) end}"
        }
        self.name = name
        functionNames = Dictionary(uniqueKeysWithValues: Script.Access.allCases.map { ($0, Array((name + $0.function.suffix).utf8)) })
        library = Array("#!lua name=\(name)\n".utf8) + text + Array((functions.joined(separator: " ") + "\n").utf8)
        plain = Array("-- jobgate's scripts, as a plain script (see CombinedScripts.swift)\n".utf8) + text
            + Array("return dispatch(ARGV)\n".utf8)
    }
}
