import ArgumentParser
import Glibc
import JobgateServer

/// An exclusive lock on a data directory, held for the gateway's life, so that a second
/// gateway started on the same directory stops at once instead of taking over the first one's
/// redis-server.
final class DataDirLock {
    private let lock: PidLock

    init(dataDir: String) throws {
        let path = dataDir + "/jobgate.lock"
        do throws(PidLock.Failure) {
            lock = try PidLock(path: path)
        } catch {
            switch error {
            case .cannotOpen(let why):
                throw StartupError("cannot open \(path): \(why)")
            case .held(let owner):
                throw StartupError(DataDirLock.inUse(dataDir, by: owner))
            }
        }
    }

    /// For `serve --check`: why a gateway started now on `dataDir` would stop at once (another
    /// holds it), or nil. Probes only a lock file that exists: a check creates nothing.
    static func heldElsewhere(_ dataDir: String) -> String? {
        let path = dataDir + "/jobgate.lock"
        guard access(path, F_OK) == 0 else { return nil }
        do throws(PidLock.Failure) {
            _ = try PidLock(path: path)
            return nil
        } catch {
            guard case .held(let owner) = error else { return nil }
            return inUse(dataDir, by: owner)
        }
    }

    private static func inUse(_ dataDir: String, by owner: Int32?) -> String {
        "data directory \(dataDir) is in use by jobgate pid \(owner.map(String.init) ?? "unknown"); give each gateway its own --data-dir"
    }
}

/// A start that failed for a reason other than the command line (printed without the usage).
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
