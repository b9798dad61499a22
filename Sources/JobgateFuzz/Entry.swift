/// Coverage-guided fuzz targets for everything a request line meets before Redis.
///
/// `jobgate-fuzz TARGET ARGS...`. Built with `-sanitize=fuzzer -D JOBGATE_LIBFUZZER` (see
/// Tests/fuzz/run), ARGS go to libFuzzer (corpus directories, `-max_total_time=20`, ...). Built
/// plainly, as `swift build` does, ARGS are files replayed once through the target: the
/// regression run for the inputs a fuzzer found.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

let targets: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
    "json": fuzzJSONScanner,
    "framer": fuzzLineFramer,
    "request": fuzzRequests,
]

func fuzzFailure(_ what: String, _ input: UnsafeRawBufferPointer) -> Never {
    let shown = String(decoding: input.prefix(512), as: UTF8.self)
    fatalError("\(what)\ninput (\(input.count) bytes): \(shown.debugDescription)")
}

/// The target libFuzzer's callback runs; set once in `main` before fuzzing starts.
nonisolated(unsafe) var selectedTarget: (UnsafeRawBufferPointer) -> Void = { _ in }

@main enum FuzzMain {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = targets[name] else {
            fputs("usage: jobgate-fuzz \(targets.keys.sorted().joined(separator: "|")) ARGS...\n", stderr)
            exit(64)
        }
        selectedTarget = target
        exit(run(CommandLine.arguments[0], Array(arguments.dropFirst())))
    }
}

#if JOBGATE_LIBFUZZER
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

func run(_ program: String, _ arguments: [String]) -> CInt {
    var argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
    var argc = CInt(arguments.count + 1)
    return argv.withUnsafeMutableBufferPointer { buffer in
        var pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &pointer) { data, size in
            selectedTarget(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
#else
func run(_ program: String, _ files: [String]) -> CInt {
    for path in files {
        readFile(path).withUnsafeBytes { selectedTarget($0) }
    }
    print("replayed \(files.count) input(s): no failures")
    return 0
}

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fatalError("cannot open \(path)") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}
#endif
