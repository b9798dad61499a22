@preconcurrency import CHiredis

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

    public var optionalString: String? { isNil ? nil : string }
}
