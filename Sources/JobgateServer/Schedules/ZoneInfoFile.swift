#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds and reads a zone's compiled rules in the system's IANA database (`/usr/share/zoneinfo`,
/// Debian package `tzdata`).
enum ZoneInfoFile {
    /// The largest file accepted: real zone files are a few KiB.
    private static let maxSize = 1 << 20

    /// Checks that `name` is an IANA zone name (`Europe/Berlin`, `Etc/GMT+5`) and so can only
    /// name a file inside the database: no absolute path, no `.` or `..`, no empty component.
    static func validate(_ name: String) throws(ScheduleError) {
        let allowed = name.utf8.allSatisfy { c in
            (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
                || c == UInt8(ascii: "/") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
        }
        guard !name.isEmpty, name.utf8.count <= 255, allowed,
              !name.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty)
        else {
            throw ScheduleError("tz: \(ScheduleError.quoting(name)) is not a time zone name (like Europe/Berlin or UTC)")
        }
    }

    /// The file's bytes, or nil when there is no such regular file.
    static func contents(of name: String, in directory: String) -> [UInt8]? {
        let fd = open(directory + "/" + name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while contents.count <= maxSize {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return contents }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            contents += chunk[0..<n]
        }
        return nil
    }
}
