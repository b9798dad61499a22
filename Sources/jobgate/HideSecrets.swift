@preconcurrency import Glibc

/// Overwrites secrets in this process's own argument memory, which is what `ps` and
/// /proc/PID/cmdline show: a `--token` value, and the password inside a `--redis` URL. The
/// parser works from its own copy, taken before this runs.
enum HideSecrets {
    static func inCommandLine() {
        let argv = CommandLine.unsafeArgv
        var hideNext: ((UnsafeMutablePointer<CChar>) -> Void)? = nil
        for i in 1..<Int(CommandLine.argc) {
            guard let arg = argv[i] else { continue }
            if let hide = hideNext {
                hide(arg)
                hideNext = nil
                continue
            }
            let text = String(cString: arg)
            for (flag, hide) in [("--token", maskAll), ("--redis", maskURLPassword)] {
                if text == flag {
                    hideNext = hide
                } else if text.hasPrefix(flag + "=") {
                    hide(arg + flag.utf8.count + 1)
                }
            }
        }
    }

    private static func maskAll(_ value: UnsafeMutablePointer<CChar>) {
        var p = value
        while p.pointee != 0 {
            p.pointee = CChar(UInt8(ascii: "*"))
            p += 1
        }
    }

    /// `scheme://user:PASSWORD@host...`: the bytes between the first `:` after `//` and the
    /// last `@`.
    private static func maskURLPassword(_ value: UnsafeMutablePointer<CChar>) {
        let bytes = Array(UnsafeBufferPointer(start: value, count: strlen(value)))
        guard let schemeEnd = findSlashSlash(bytes),
              let at = bytes.lastIndex(of: CChar(UInt8(ascii: "@"))), at > schemeEnd,
              let colon = bytes[schemeEnd..<at].firstIndex(of: CChar(UInt8(ascii: ":"))) else { return }
        for i in (colon + 1)..<at { value[i] = CChar(UInt8(ascii: "*")) }
    }

    private static func findSlashSlash(_ bytes: [CChar]) -> Int? {
        let slash = CChar(UInt8(ascii: "/"))
        for i in 0..<max(0, bytes.count - 1) where bytes[i] == slash && bytes[i + 1] == slash { return i + 2 }
        return nil
    }
}
