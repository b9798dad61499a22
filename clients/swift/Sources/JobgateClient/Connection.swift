import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to a gateway, with any number of requests in flight.
///
/// jobgate answers requests in the order it read them, so replies are matched to requests first
/// in, first out. ``PipelineHandler`` keeps that queue on the channel's event loop: the order in
/// which requests pass through it is the order their bytes reach the socket, whichever tasks
/// sent them, so the match holds with no lock and no request id.
final class Connection: Sendable {
    let channel: any Channel
    /// Why the connection ended, when the gateway said so: an error line that answered no request,
    /// such as `OVERLOADED` sent on accept just before jobgate closes the connection.
    let endedBy: NIOLockedValueBox<(any Error)?>

    private init(channel: any Channel, endedBy: NIOLockedValueBox<(any Error)?>) {
        self.channel = channel
        self.endedBy = endedBy
    }

    var isActive: Bool { channel.isActive }

    /// Connects, and with `tls` completes the TLS handshake within `connectTimeout` too. The
    /// returned future fails with the connect or handshake error.
    static func connect(
        to address: JobgateAddress,
        tls: TLSSetup?,
        group: any EventLoopGroup,
        maxReplyLength: Int,
        connectTimeout: TimeAmount
    ) -> EventLoopFuture<Connection> {
        let endedBy = NIOLockedValueBox<(any Error)?>(nil)
        let loop = group.next()
        let handshake = tls.map { _ in loop.makePromise(of: Void.self) }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls, let handshake {
                        try sync.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname))
                        try sync.addHandler(TLSHandshakeWatcher(handshake: handshake))
                    }
                    try sync.addHandler(ByteToMessageHandler(LineDecoder(maxLength: maxReplyLength)))
                    try sync.addHandler(PipelineHandler(endedBy: endedBy))
                }
            }
        let channel: EventLoopFuture<any Channel>
        switch address {
        case .tcp(let host, let port), .tls(let host, let port):
            channel = bootstrap.connect(host: host, port: port)
        case .unix(let path):
            channel = bootstrap.connect(unixDomainSocketPath: path)
        }
        guard let handshake else {
            return channel.map { Connection(channel: $0, endedBy: endedBy) }
        }
        channel.whenFailure { handshake.fail($0) }
        return channel.flatMap { channel in
            // A peer that accepts TCP but never answers the handshake (say, a plain TCP listener)
            // would otherwise hold the connect forever.
            let timeout = loop.scheduleTask(in: connectTimeout) {
                let seconds = Double(connectTimeout.nanoseconds) / 1e9
                handshake.fail(TLSHandshakeIncomplete(description: "the TLS handshake did not finish within \(seconds) s"))
            }
            return handshake.futureResult
                .map { Connection(channel: channel, endedBy: endedBy) }
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
                .always { _ in timeout.cancel() }
        }
    }

    /// Sends one request line (ending in `\n`) and waits for its reply line (without `\n`).
    ///
    /// The wait cannot be cancelled: once a request is on the wire, its reply has a place in
    /// the connection's order and must be read.
    func roundTrip(_ line: [UInt8]) async throws -> ByteBuffer {
        let loop = channel.eventLoop
        let reply = loop.makePromise(of: ByteBuffer.self)
        let written = loop.makePromise(of: Void.self)
        // If the write fails before it reaches the handler (the channel already closed), the
        // reply can never come. Completing a promise twice is a no-op, so this is safe even
        // when the handler also fails it.
        written.futureResult.whenFailure { [endedBy] error in
            reply.fail(endedBy.withLockedValue { $0 } ?? JobgateClientError.connectionLost(String(describing: error)))
        }
        let buffer = channel.allocator.buffer(bytes: line)
        channel.writeAndFlush(OutboundRequest(line: buffer, reply: reply), promise: written)
        return try await reply.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }

    func closeInBackground() {
        channel.close(promise: nil)
    }
}

struct OutboundRequest: Sendable {
    let line: ByteBuffer
    let reply: EventLoopPromise<ByteBuffer>
}

/// Splits the byte stream into reply lines, dropping the `\n` (and a `\r` before it).
final class LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let maxLength: Int
    /// Bytes at the start of the buffer already known to hold no `\n`.
    private var scanned = 0

    init(maxLength: Int) {
        self.maxLength = maxLength
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if scanned > maxLength {
                throw JobgateClientError.malformedReply("a reply line is longer than \(maxLength) bytes")
            }
            return .needMoreData
        }
        scanned = 0
        var length = newline - view.startIndex
        if length > 0 && view[newline - 1] == UInt8(ascii: "\r") { length -= 1 }
        let line = buffer.getSlice(at: buffer.readerIndex, length: length)!
        buffer.moveReaderIndex(to: newline + 1)
        if length > 0 {
            context.fireChannelRead(Self.wrapInboundOut(line))
        }
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A partial line at the end of the stream is not a reply: the gateway always ends its
        // replies with `\n`. Requests still waiting fail when the channel goes inactive.
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}

@available(*, unavailable)
extension LineDecoder: Sendable {}

/// Matches reply lines to waiting requests, first in, first out. Lives on the event loop.
final class PipelineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<EventLoopPromise<ByteBuffer>>(initialCapacity: 16)
    private var failure: (any Error)?
    private let endedBy: NIOLockedValueBox<(any Error)?>

    init(endedBy: NIOLockedValueBox<(any Error)?>) {
        self.endedBy = endedBy
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        if let failure {
            request.reply.fail(failure)
            promise?.fail(failure)
            return
        }
        waiting.append(request.reply)
        context.write(Self.wrapOutboundOut(request.line), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        guard let next = waiting.popFirst() else {
            // A line that answers no request. jobgate sends one kind: an error (OVERLOADED) on
            // accept, just before it closes the connection. Requests sent since then fail with
            // it. Anything else means the order is broken, and no later reply can be trusted.
            do {
                _ = try Reply.decode([String: JSONValue].self, from: line)
                failAll(JobgateClientError.malformedReply("a reply arrived with no request waiting for it"))
            } catch let error as JobgateError {
                failAll(error)
            } catch {
                failAll(JobgateClientError.malformedReply("a line arrived with no request waiting for it"))
            }
            context.close(promise: nil)
            return
        }
        next.succeed(line)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(JobgateClientError.connectionLost("the gateway closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? JobgateClientError {
            failAll(error)
        } else {
            failAll(JobgateClientError.connectionLost(String(describing: error)))
        }
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        if failure == nil {
            failure = error
            endedBy.withLockedValue { $0 = error }
        }
        let error = failure!
        while let promise = waiting.popFirst() {
            promise.fail(error)
        }
    }
}

@available(*, unavailable)
extension PipelineHandler: Sendable {}
