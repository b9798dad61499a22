@preconcurrency import CHiredis
@preconcurrency import Glibc

/// Where a connection's hiredis reader builds its replies: `redisReply` objects, their element
/// lists and strings are carved from one block instead of a `calloc` and a `malloc` each, and
/// all of them are let go at once (`reset`) when the reply has been handled. A batch's reply
/// holds a few objects per op, and those allocations were the gateway's largest malloc cost.
/// A reply that must outlive its handler is copied out (`RetainedReply`).
final class ReplyArena {
    private var block: UnsafeMutableRawPointer?
    private var capacity = 0
    private var used = 0
    /// Blocks taken when a reply outgrew `block`; freed at `reset`, which then makes `block`
    /// large enough for such a reply, up to `keptBytes`.
    private var overflow: [UnsafeMutableRawPointer] = []
    private var overflowBytes = 0

    static let firstBytes = 16 << 10
    static let keptBytes = 1 << 20

    deinit {
        free(block)
        overflow.forEach { free($0) }
    }

    /// A reader whose replies live in this arena. Free it with `redisReaderFree` before the
    /// arena goes.
    func makeReader() -> UnsafeMutablePointer<redisReader>? {
        let reader = redisReaderCreateWithFunctions(ReplyArena.functions)
        reader?.pointee.privdata = Unmanaged.passUnretained(self).toOpaque()
        return reader
    }

    /// Every reply built so far is gone. Only between replies: a partly read one lives here too.
    func reset() {
        if !overflow.isEmpty {
            overflow.forEach { free($0) }
            overflow.removeAll()
            let wanted = min(capacity + overflowBytes, ReplyArena.keptBytes)
            if wanted > capacity {
                free(block)
                block = nil
                capacity = 0
                grow(to: wanted)
            }
            overflowBytes = 0
        }
        used = 0
    }

    /// `count` bytes aligned for any reply field, or nil if memory ran out (hiredis then
    /// reports an out-of-memory error and the connection is dropped).
    private func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
        let size = (count + 15) & ~15
        if block == nil { grow(to: ReplyArena.firstBytes) }
        if let block, used + size <= capacity {
            defer { used += size }
            return block + used
        }
        guard let extra = malloc(size) else { return nil }
        overflow.append(extra)
        overflowBytes += size
        return extra
    }

    private func grow(to bytes: Int) {
        block = malloc(bytes)
        capacity = block == nil ? 0 : bytes
    }

    fileprivate func reply(_ task: UnsafePointer<redisReadTask>?, type: Int32) -> UnsafeMutablePointer<redisReply>? {
        guard let memory = allocate(MemoryLayout<redisReply>.size) else { return nil }
        let reply = memory.bindMemory(to: redisReply.self, capacity: 1)
        reply.initialize(to: redisReply())
        reply.pointee.type = type
        if let parent = task?.pointee.parent {
            parent.pointee.obj.assumingMemoryBound(to: redisReply.self).pointee.element[Int(task!.pointee.idx)] = reply
        }
        return reply
    }

    fileprivate func string(_ task: UnsafePointer<redisReadTask>?, _ bytes: UnsafeMutablePointer<CChar>?, _ count: Int) -> UnsafeMutableRawPointer? {
        guard let text = allocate(count + 1)?.bindMemory(to: CChar.self, capacity: count + 1),
              let reply = reply(task, type: task!.pointee.type) else { return nil }
        if count > 0, let bytes { memcpy(text, bytes, count) }
        text[count] = 0
        reply.pointee.str = text
        reply.pointee.len = count
        return UnsafeMutableRawPointer(reply)
    }

    fileprivate func array(_ task: UnsafePointer<redisReadTask>?, _ count: Int) -> UnsafeMutableRawPointer? {
        let slots = MemoryLayout<UnsafeMutablePointer<redisReply>?>.stride
        guard count >= 0, count <= Int.max / slots else { return nil }
        var elements: UnsafeMutablePointer<UnsafeMutablePointer<redisReply>?>?
        if count > 0 {
            guard let memory = allocate(count * slots) else { return nil }
            elements = memory.bindMemory(to: UnsafeMutablePointer<redisReply>?.self, capacity: count)
            elements!.initialize(repeating: nil, count: count)
        }
        guard let reply = reply(task, type: REDIS_REPLY_ARRAY) else { return nil }
        reply.pointee.element = elements
        reply.pointee.elements = count
        return UnsafeMutableRawPointer(reply)
    }

    private static func of(_ task: UnsafePointer<redisReadTask>?) -> ReplyArena {
        Unmanaged<ReplyArena>.fromOpaque(task!.pointee.privdata).takeUnretainedValue()
    }

    /// hiredis calls these as it reads; `freeObject` has nothing to do, `reset` frees.
    nonisolated(unsafe) private static let functions: UnsafeMutablePointer<redisReplyObjectFunctions> = {
        let table = UnsafeMutablePointer<redisReplyObjectFunctions>.allocate(capacity: 1)
        table.initialize(to: redisReplyObjectFunctions(
            createString: { task, bytes, count in of(task).string(task, bytes, count) },
            createArray: { task, count in of(task).array(task, Int(count)) },
            createInteger: { task, value in
                let reply = of(task).reply(task, type: REDIS_REPLY_INTEGER)
                reply?.pointee.integer = value
                return UnsafeMutableRawPointer(reply)
            },
            createNil: { task in UnsafeMutableRawPointer(of(task).reply(task, type: REDIS_REPLY_NIL)) },
            freeObject: { _ in }))
        return table
    }()
}
