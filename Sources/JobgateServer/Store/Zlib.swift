@preconcurrency import CZlib

/// zlib with long-lived streams: `compress2` sets up ~256 KiB of state per call, which limits
/// it to ~15k calls/s; a reset stream is ten times faster. One instance per loop thread.
public final class Zlib {
    /// Inputs shorter than this are stored (level 0) rather than deflated: still zlib's format,
    /// which RQ and Python's `zlib.decompress` read the same way, but deflating a typical small
    /// job costs ~5 µs (plus ~0.5 µs to inflate) to save a few bytes or none.
    public static let storeBelow = 256

    private var deflater = z_stream()
    private var storer = z_stream()
    private var inflater = z_stream()

    public init() {
        let size = Int32(MemoryLayout<z_stream>.size)
        // Level 6 is zlib's default and what Python's zlib.compress writes (header 78 9c).
        precondition(deflateInit_(&deflater, 6, ZLIB_VERSION, size) == Z_OK)
        // Level 0 needs no hash table: the smallest memLevel keeps its reset cheap.
        precondition(deflateInit2_(&storer, 0, Z_DEFLATED, 15, 1, Z_DEFAULT_STRATEGY, ZLIB_VERSION, size) == Z_OK)
        precondition(inflateInit_(&inflater, ZLIB_VERSION, size) == Z_OK)
    }

    deinit {
        deflateEnd(&deflater)
        deflateEnd(&storer)
        inflateEnd(&inflater)
    }

    public func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        input.count < Zlib.storeBelow ? run(&storer, input) : run(&deflater, input)
    }

    private func run(_ deflater: inout z_stream, _ input: UnsafeRawBufferPointer) -> [UInt8] {
        deflateReset(&deflater)
        let bound = Int(deflateBound(&deflater, uLong(input.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let produced: Int = out.withUnsafeMutableBytes { o in
            deflater.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            deflater.avail_in = uInt(input.count)
            deflater.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
            deflater.avail_out = uInt(bound)
            let rc = deflate(&deflater, Z_FINISH)
            precondition(rc == Z_STREAM_END, "deflate with a deflateBound buffer must finish")
            return bound - Int(deflater.avail_out)
        }
        out.removeLast(bound - produced)
        return out
    }

    public func compress(_ input: [UInt8]) -> [UInt8] { input.withUnsafeBytes { compress($0) } }

    /// Inflates zlib data; nil when the input is not a complete zlib stream or exceeds `limit`.
    public func decompress(_ input: UnsafeRawBufferPointer, limit: Int = 64 << 20) -> [UInt8]? {
        inflateReset(&inflater)
        var out = [UInt8](repeating: 0, count: max(256, input.count * 4))
        var produced = 0
        inflater.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        inflater.avail_in = uInt(input.count)
        while true {
            let rc: Int32 = out.withUnsafeMutableBytes { o in
                inflater.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                inflater.avail_out = uInt(o.count - produced)
                let rc = inflate(&inflater, Z_NO_FLUSH)
                produced = o.count - Int(inflater.avail_out)
                return rc
            }
            if rc == Z_STREAM_END { break }
            guard rc == Z_OK || rc == Z_BUF_ERROR, inflater.avail_out == 0, out.count < limit else { return nil }
            out.append(contentsOf: repeatElement(0, count: min(out.count, limit - out.count)))
        }
        // The first buffer may be larger than `limit`, so output that fit in it is checked here.
        guard produced <= limit else { return nil }
        out.removeLast(out.count - produced)
        return out
    }
}
