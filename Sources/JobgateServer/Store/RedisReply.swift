@preconcurrency import CHiredis
@preconcurrency import Glibc

/// A read-only view of a hiredis reply, valid only inside the reply callback.
public struct RedisReply {
    let ptr: UnsafeMutablePointer<redisReply>

    public var isError: Bool { ptr.pointee.type == REDIS_REPLY_ERROR }
    public var isNil: Bool { ptr.pointee.type == REDIS_REPLY_NIL }
    public var isArray: Bool { ptr.pointee.type == REDIS_REPLY_ARRAY }
    public var integer: Int { Int(ptr.pointee.integer) }
    public var count: Int { isArray ? Int(ptr.pointee.elements) : 0 }

    public subscript(i: Int) -> RedisReply { RedisReply(ptr: ptr.pointee.element[i]!) }

    /// The payload of a string, status or error reply (empty for other types).
    public var bytes: UnsafeRawBufferPointer {
        guard let s = ptr.pointee.str else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: s, count: Int(ptr.pointee.len))
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// The number a string or integer reply holds (scripts return fractions as strings).
    public var double: Double {
        ptr.pointee.type == REDIS_REPLY_INTEGER ? Double(integer) : Double(string) ?? 0
    }
}

/// A copy of a reply that outlives its callback (hiredis frees the original when the callback
/// returns). Allocated the way hiredis allocates, so `freeReplyObject` releases it.
final class RetainedReply {
    let reply: RedisReply

    init(copying original: RedisReply) {
        reply = RedisReply(ptr: RetainedReply.clone(original.ptr))
    }

    deinit { freeReplyObject(reply.ptr) }

    private static func clone(_ r: UnsafeMutablePointer<redisReply>) -> UnsafeMutablePointer<redisReply> {
        let copy = calloc(1, MemoryLayout<redisReply>.size)!.assumingMemoryBound(to: redisReply.self)
        copy.pointee.type = r.pointee.type
        copy.pointee.integer = r.pointee.integer
        copy.pointee.len = r.pointee.len
        if let str = r.pointee.str {
            let bytes = malloc(Int(r.pointee.len) + 1)!.assumingMemoryBound(to: CChar.self)
            memcpy(bytes, str, Int(r.pointee.len))
            bytes[Int(r.pointee.len)] = 0
            copy.pointee.str = bytes
        }
        if r.pointee.type == REDIS_REPLY_ARRAY && r.pointee.elements > 0 {
            let n = Int(r.pointee.elements)
            let elements = calloc(n, MemoryLayout<UnsafeMutablePointer<redisReply>?>.size)!
                .assumingMemoryBound(to: UnsafeMutablePointer<redisReply>?.self)
            for i in 0..<n { elements[i] = clone(r.pointee.element[i]!) }
            copy.pointee.element = elements
            copy.pointee.elements = r.pointee.elements
        }
        return copy
    }
}

extension JSONWriter {
    /// A string reply as a JSON string, written from its bytes (no Swift String is made: a batch
    /// writes one per job).
    mutating func string(_ reply: RedisReply) { string(reply.bytes) }
}
