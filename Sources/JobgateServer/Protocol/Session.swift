/// What a session hands each request to.
public protocol RequestHandler: AnyObject {
    func handle(_ request: inout Request, reply: ReplyTicket)
    func sessionClosed(_ session: Session)
    /// A timed request was answered (for latency histograms and error counts), with `error` if
    /// it failed.
    func replied(slot: Int, startedNs: UInt64, error: OpError?)
    /// Milliseconds of the loop's clock, and a way to run something later on the loop.
    var nowMs: UInt64 { get }
    func after(ms: UInt64, _ body: @escaping () -> Void)
}

public struct SessionLimits: Sendable {
    public var maxLine = 1 << 20
    /// Requests read but not yet answered before the session stops reading.
    public var maxOutstanding = 1024
    /// Reply bytes written but not yet taken by the peer before the session runs no more
    /// requests and stops reading.
    public var maxPendingOutput = 4 << 20
    /// Requests whose replies may run to megabytes of job bodies (`job`, `result`, `jobs`,
    /// `failed`) in flight at once, until their replies are written: without it, 1024 pipelined
    /// lookups of 1 MB results, never read, held a GB.
    public var maxBulkyInFlight = 8

    public init() {}
}

/// The line protocol on one connection: framing, request order, reply order, flow control and
/// the half-close rule (a peer that shuts its sending side still gets every reply).
public final class Session: ConnectionDelegate {
    public let connection: Connection
    let handler: RequestHandler
    private let limits: SessionLimits
    private var framer: LineFramer
    private var nextSeq: UInt64 = 0
    private var headSeq: UInt64 = 0
    /// Replies completed before an earlier request's: they wait for their turn. (The bulky ones
    /// among them still count as in flight: so a request that waits, a lease, holds back at most
    /// `maxBulkyInFlight` of them, while small requests behind it, an ack, still run.)
    private var completedOutOfOrder: [UInt64: (bytes: [UInt8], bulky: Bool)] = [:]
    /// Lines read but not run: a request waits while running it would pass the session's bounds
    /// (requests in flight, bulky ones, reply bytes the peer has not taken), and every later line
    /// waits behind it, so requests still run in the order they came.
    private var waiting = Ring<Waiting>()
    private enum Waiting {
        case line([UInt8])
        case tooLarge
    }
    private var runningWaiting = false
    /// Requests whose replies may be large (`ReplyTicket.markBulky`), until their replies are
    /// written.
    var bulkyInFlight = 0
    private var peerEnded = false
    /// Set once no further request may run (shutdown, too many failed logins): lines already
    /// read, even in the same packet, are dropped unanswered.
    private var inputClosed = false
    /// Whether this connection may use ops other than `auth` (set by the handler).
    public var authenticated = false
    public var failedAuths = 0
    /// Where replies go instead of the connection, for requests that do not arrive as lines on it.
    private let output: (([UInt8]) -> Void)?
    /// What undoes a reply the peer may never have read (a lease handed out), with when it was
    /// written: run if the connection breaks within `Session.deliveryWindowMs` of that.
    /// Oldest first, and dropped from the front once older than the window: a worker leasing
    /// thousands of jobs a second must not scan them all on every lease.
    private var undoIfLost = Ring<(writtenMs: UInt64, undo: () -> Void)>()
    private var lingering = false
    /// How long after a reply a reset still counts as that reply being lost. A peer that had
    /// closed its socket resets the connection as soon as data reaches it; this covers the trip.
    static let deliveryWindowMs: UInt64 = 1000
    /// How long an ended peer's connection stays open after its last watched reply, to see
    /// whether that reply was refused.
    static let lingerMs: UInt64 = 200

    public init(connection: Connection, handler: RequestHandler, limits: SessionLimits) {
        self.connection = connection
        self.handler = handler
        self.limits = limits
        framer = LineFramer(maxLine: limits.maxLine)
        output = nil
        connection.delegate = self
    }

    /// A session for one request that arrived some other way (an HTTP request to the web
    /// console): `submit` runs its line and the reply goes to `output`. The connection, which
    /// speaks HTTP, stays its owner's: this session only checks whether it is still open.
    public init(requestFrom connection: Connection, handler: RequestHandler, output: @escaping ([UInt8]) -> Void) {
        self.connection = connection
        self.handler = handler
        limits = SessionLimits()
        framer = LineFramer(maxLine: limits.maxLine)
        self.output = output
    }

    /// Runs one request line as if it had been read from the connection.
    public func submit(_ line: [UInt8]) {
        line.withUnsafeBytes { dispatch(.line($0)) }
    }

    public var outstanding: Int { Int(nextSeq - headSeq) }
    public var isOpen: Bool { !connection.isClosed }

    public func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        framer.feed(bytes) { event in self.dispatch(event) }
        applyBackpressure()
    }

    public func connectionReachedEnd(_ connection: Connection) {
        peerEnded = true
        framer.finish { event in self.dispatch(event) }
        closeIfDone()
    }

    public func connectionDrained(_ connection: Connection) {
        runWaiting()
        applyBackpressure()
        closeIfDone()
    }

    public func connectionClosed(_ connection: Connection) {
        completedOutOfOrder = [:]
        waiting.removeAll()
        let lost = connection.closeReason != nil
        let now = handler.nowMs
        while let entry = undoIfLost.pop() {
            if lost && now - entry.writtenMs <= Session.deliveryWindowMs { entry.undo() }
        }
        handler.sessionClosed(self)
    }

    /// The reply just completed hands out something the peer must act on; if the connection
    /// breaks before the peer can have read it, `undo` runs.
    func watchDelivery(_ undo: @escaping () -> Void) {
        let now = handler.nowMs
        while let oldest = undoIfLost.first, now - oldest.writtenMs > Session.deliveryWindowMs { _ = undoIfLost.pop() }
        undoIfLost.push((now, undo))
    }

    private func dispatch(_ event: LineFramer.Event) {
        guard !inputClosed else { return }
        guard waiting.isEmpty && mayRunMore else {
            switch event {
            case .line(let bytes): waiting.push(.line(Array(bytes)))
            case .tooLarge: waiting.push(.tooLarge)
            }
            return
        }
        run(event)
    }

    private var mayRunMore: Bool {
        output != nil || (outstanding < limits.maxOutstanding && bulkyInFlight < limits.maxBulkyInFlight
                          && connection.pendingOutput < limits.maxPendingOutput)
    }

    /// Runs waiting lines while the bounds allow. Not reentered: a request answered at once
    /// calls back here, and the loop already running goes on with the next line.
    private func runWaiting() {
        guard !runningWaiting else { return }
        runningWaiting = true
        defer { runningWaiting = false }
        while !inputClosed && mayRunMore, let next = waiting.pop() {
            switch next {
            case .line(let line): line.withUnsafeBytes { run(.line($0)) }
            case .tooLarge: run(.tooLarge)
            }
        }
    }

    private func run(_ event: LineFramer.Event) {
        let ticket = ReplyTicket(session: self, seq: nextSeq, ref: nil)
        nextSeq += 1
        switch event {
        case .tooLarge:
            ticket.fail(OpError(.tooLarge, "line longer than \(limits.maxLine) bytes; skipped to its newline"))
        case .line(let bytes):
            do {
                var request = try Request(line: bytes)
                var withRef = ticket
                if let ref = request.ref { withRef.ref = Array(ref.bytes(in: bytes)) }
                handler.handle(&request, reply: withRef)
            } catch {
                ticket.fail(error)
            }
        }
    }

    func complete(_ seq: UInt64, _ bytes: [UInt8], bulky: Bool) {
        guard !connection.isClosed else { return }
        guard seq == headSeq else {
            completedOutOfOrder[seq] = (bytes, bulky)
            return
        }
        send(bytes, bulky: bulky)
        headSeq += 1
        while let next = completedOutOfOrder.removeValue(forKey: headSeq) {
            send(next.bytes, bulky: next.bulky)
            headSeq += 1
        }
        runWaiting()
        applyBackpressure()
        closeIfDone()
    }

    private func send(_ bytes: [UInt8], bulky: Bool) {
        if bulky { bulkyInFlight -= 1 }
        if let output { output(bytes) } else { connection.write(bytes) }
    }

    private func applyBackpressure() {
        guard output == nil else { return }
        if !waiting.isEmpty || outstanding >= limits.maxOutstanding || connection.pendingOutput >= limits.maxPendingOutput {
            connection.pauseReading()
        } else if connection.readingPaused && !peerEnded
                    && outstanding <= limits.maxOutstanding / 2 && connection.pendingOutput <= limits.maxPendingOutput / 2 {
            connection.resumeReading()
        }
    }

    private func closeIfDone() {
        guard output == nil && peerEnded && outstanding == 0 && waiting.isEmpty && connection.pendingOutput == 0 else { return }
        guard !undoIfLost.isEmpty else { return connection.close() }
        // A peer that ended its side may have closed its socket altogether: then the replies
        // just written come back as a reset. Wait for it a moment before closing.
        guard !lingering else { return }
        lingering = true
        handler.after(ms: Session.lingerMs) { [weak self] in
            guard let self, !self.connection.isClosed else { return }
            if self.connection.peerReset() { self.connection.close(because: "reset by the peer") } else { self.connection.close() }
        }
    }

    /// Answers one unsolicited error (e.g. OVERLOADED) and closes once it is written.
    public func refuse(_ error: OpError) {
        let ticket = ReplyTicket(session: self, seq: nextSeq, ref: nil)
        nextSeq += 1
        ticket.fail(error)
        stopReading()
    }

    /// Stops reading new requests (quit, too many failed logins, shutdown); replies still in
    /// flight are still written. Lines read but held back are dropped, or, with `heldLines`,
    /// answered with it (a shutdown: they were not run, and may be sent again elsewhere).
    public func stopReading(answeringHeldLinesWith heldLines: OpError? = nil) {
        inputClosed = true
        while let held = waiting.pop() {
            guard let heldLines else { continue }
            var ticket = ReplyTicket(session: self, seq: nextSeq, ref: nil)
            nextSeq += 1
            // The reply names its request, as every reply to a JSON line does.
            if case .line(let line) = held {
                ticket.ref = line.withUnsafeBytes { bytes in
                    (try? Request(line: bytes))?.ref.map { Array($0.bytes(in: bytes)) }
                }
            }
            ticket.fail(heldLines)
        }
        peerEnded = true
        connection.pauseReading()
        closeIfDone()
    }
}

/// The right to answer one request. Replies are written in request order whatever order they
/// are completed in.
public struct ReplyTicket {
    public let session: Session
    let seq: UInt64
    var ref: [UInt8]?
    /// Set by the handler to have the answer timed: (its slot for the op, start time in ns).
    public var timing: (slot: Int, startedNs: UInt64)? = nil
    private var bulky = false

    init(session: Session, seq: UInt64, ref: [UInt8]?) {
        self.session = session
        self.seq = seq
        self.ref = ref
    }

    /// The reply may run to megabytes: it counts against the session's `maxBulkyInFlight`.
    public mutating func markBulky() {
        bulky = true
        session.bulkyInFlight += 1
    }

    public func ok(_ body: (inout JSONWriter) -> Void = { _ in }) {
        var w = opening(ok: true)
        body(&w)
        deliver(&w, error: nil)
    }

    /// Answers a script's reply with `render` (which may still refuse it), or the error that
    /// kept the script from answering: the shape of most ops' replies.
    public func answer(_ result: Result<RedisReply, OpError>, _ render: (RedisReply, inout JSONWriter) throws(OpError) -> Void) {
        switch result {
        case .failure(let error):
            fail(error)
        case .success(let value):
            var w = opening(ok: true)
            do { try render(value, &w) } catch { return fail(error) }
            deliver(&w, error: nil)
        }
    }

    public func fail(_ error: Error) {
        let e = error as? OpError ?? OpError(.internal, "\(error)")
        var w = opening(ok: false)
        w.key("error")
        w.errorObject(e)
        if let id = e.id { w.key("id"); w.string(id) }
        deliver(&w, error: e)
    }

    private func opening(ok: Bool) -> JSONWriter {
        var w = JSONWriter()
        w.raw(ok ? "{\"ok\":true" : "{\"ok\":false")
        if let ref { w.key("ref"); w.raw(ref) }
        return w
    }

    private func deliver(_ w: inout JSONWriter, error: OpError?) {
        w.raw("}\n")
        session.complete(seq, w.bytes, bulky: bulky)
        if let timing { session.handler.replied(slot: timing.slot, startedNs: timing.startedNs, error: error) }
    }
}

extension JSONWriter {
    /// `{"code":...,"message":...}` (plus `"retryable":true` where it applies), as every error
    /// is written, whole replies and batch items alike.
    public mutating func errorObject(_ e: OpError) {
        raw("{\"code\":")
        string(e.code.rawValue)
        key("message")
        string(e.message)
        if e.code.retryable { key("retryable"); bool(true) }
        raw("}")
    }
}
