/// What a TZif file (RFC 8536, versions 1 to 4) says about a zone's UTC offsets. Version 2 and
/// later files are read from their 64-bit section and footer; a version 1 file from its 32-bit one.
struct TZif {
    /// Instants at which the UTC offset changes, ascending, with the offset from then on.
    /// Transitions that change only the abbreviation or the DST flag are left out.
    let changes: [(at: Int, offset: Int)]
    /// The offset before the first transition (the file's first local time type).
    let initialOffset: Int
    /// The last transition the file lists: its footer rule, if any, governs every instant from there.
    let lastTransition: Int?
    let footer: PosixTZRule?

    /// Why a file cannot be used, in words for the `tz:` error.
    enum Problem: Error {
        case malformed, leapSeconds
    }

    init(decoding bytes: [UInt8]) throws(Problem) {
        var reader = BigEndianReader(bytes)
        var header = try Self.header(&reader)
        var timeSize = 4
        if header.version >= UInt8(ascii: "2") {
            try reader.skip(header.dataSize(timeSize: 4))
            header = try Self.header(&reader)
            timeSize = 8
        }
        guard header.leapCount == 0 else { throw .leapSeconds }
        guard header.typeCount >= 1 else { throw .malformed }
        var times: [Int] = []
        for _ in 0..<header.timeCount { times.append(try reader.signed(timeSize)) }
        var typeIndices: [Int] = []
        for _ in 0..<header.timeCount { typeIndices.append(Int(try reader.byte())) }
        var offsets: [Int] = []
        for _ in 0..<header.typeCount {
            let offset = try reader.signed(4)
            try reader.skip(2)
            guard abs(offset) <= 26 * 3600 else { throw .malformed }
            offsets.append(offset)
        }
        try reader.skip(header.charCount + header.stdCount + header.utCount)
        guard zip(times, times.dropFirst()).allSatisfy({ $0 < $1 }), typeIndices.allSatisfy({ $0 < offsets.count }) else {
            throw .malformed
        }
        var changes: [(at: Int, offset: Int)] = []
        for (time, type) in zip(times, typeIndices) where offsets[type] != (changes.last?.offset ?? offsets[0]) {
            changes.append((time, offsets[type]))
        }
        self.changes = changes
        initialOffset = offsets[0]
        lastTransition = times.last
        footer = timeSize == 8 ? try Self.footer(&reader) : nil
    }

    private struct Header {
        let version: UInt8
        let utCount, stdCount, leapCount, timeCount, typeCount, charCount: Int

        func dataSize(timeSize: Int) -> Int {
            timeCount * (timeSize + 1) + typeCount * 6 + charCount + leapCount * (timeSize + 4) + stdCount + utCount
        }
    }

    private static func header(_ reader: inout BigEndianReader) throws(Problem) -> Header {
        guard try reader.bytes(4).elementsEqual("TZif".utf8) else { throw .malformed }
        let version = try reader.byte()
        try reader.skip(15)
        var counts: [Int] = []
        for _ in 0..<6 {
            let count = try reader.signed(4)
            guard (0...1_000_000).contains(count) else { throw .malformed }
            counts.append(count)
        }
        return Header(version: version, utCount: counts[0], stdCount: counts[1], leapCount: counts[2],
                      timeCount: counts[3], typeCount: counts[4], charCount: counts[5])
    }

    /// `\nTZ-string\n`; an empty string means the file gives no rule past its table.
    private static func footer(_ reader: inout BigEndianReader) throws(Problem) -> PosixTZRule? {
        guard try reader.byte() == UInt8(ascii: "\n") else { throw .malformed }
        var text: [UInt8] = []
        while true {
            let byte = try reader.byte()
            if byte == UInt8(ascii: "\n") { break }
            text.append(byte)
        }
        if text.isEmpty { return nil }
        guard let rule = PosixTZRule(parsing: text) else { throw .malformed }
        return rule
    }
}

/// Reads big-endian fields from a byte array, failing rather than reading past its end.
private struct BigEndianReader {
    private let data: [UInt8]
    private var at = 0

    init(_ data: [UInt8]) { self.data = data }

    mutating func bytes(_ count: Int) throws(TZif.Problem) -> ArraySlice<UInt8> {
        guard count >= 0, count <= data.count - at else { throw .malformed }
        defer { at += count }
        return data[at..<(at + count)]
    }

    mutating func byte() throws(TZif.Problem) -> UInt8 { try bytes(1).first! }

    mutating func skip(_ count: Int) throws(TZif.Problem) { _ = try bytes(count) }

    /// A two's-complement integer of `size` bytes (4 or 8).
    mutating func signed(_ size: Int) throws(TZif.Problem) -> Int {
        let raw = try bytes(size).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let shift = UInt64(64 - size * 8)
        return Int(Int64(bitPattern: raw << shift) >> Int64(shift))
    }
}
