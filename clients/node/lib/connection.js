"use strict";
const net = require("node:net");
const tls = require("node:tls");
const { ConnectionError, JobgateError } = require("./errors");

/**
 * One socket to jobgate. Requests are written as soon as they are made (pipelined); replies come
 * in request order, so each one settles the oldest request still waiting.
 *
 * A connection is used until it fails, then thrown away: a failure (error, close, timeout, a wrong
 * token) rejects every request still waiting, because nobody can tell which of them took effect.
 */
class Connection {
  /**
   * @param address  parsed by parseAddress
   * @param options  token (sent as `auth` first over TCP and TLS), ca (PEM, TLS only),
   *                 connectTimeout and callTimeout in milliseconds
   */
  constructor(address, { token, ca, connectTimeout, callTimeout }) {
    this.address = address;
    this.callTimeout = callTimeout;
    this.waiting = []; // requests without a reply yet, oldest first
    this.unwritten = []; // lines held back until the socket is open and authenticated
    this.open = false;
    this.ending = false;
    this.failed = null;
    this.received = "";
    this.timer = null;
    this.closed = new Promise((resolve) => { this.markClosed = resolve; });

    this.socket = dial(address, ca);
    this.socket.setEncoding("utf8"); // decodes UTF-8 split across chunks correctly
    this.socket.on("data", (text) => this.onData(text));
    this.socket.on("error", (err) => this.fail(new ConnectionError(`connection to ${address.text} failed`, err)));
    this.socket.on("close", () => {
      this.fail(new ConnectionError(`jobgate closed the connection (${address.text})`));
      this.markClosed();
    });
    this.socket.once(address.kind === "tls" ? "secureConnect" : "connect", () => this.onConnect(token));
    this.armTimer(connectTimeout, () => new ConnectionError(
      `no connection to ${address.text} within ${connectTimeout / 1000} s`));
  }

  /** Whether new requests may go on this connection. */
  get usable() {
    return !this.failed && !this.ending;
  }

  /** Sends one request; resolves with its reply object, whatever its `ok`. */
  request(request, waitMs = 0) {
    const line = JSON.stringify(request) + "\n";
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, waitMs, sentAt: Date.now() });
      if (this.open) {
        this.write(line);
      } else {
        this.unwritten.push(line);
      }
    });
  }

  /** Ends the connection once every reply has come (jobgate answers all it has read, then closes). */
  end() {
    this.ending = true;
    this.socket.ref(); // whoever awaits the close is kept alive until it comes
    if (this.open || this.failed) this.socket.end();
    return this.closed;
  }

  onConnect(token) {
    if (this.address.kind === "tcp") this.socket.setNoDelay(true);
    if (token && this.address.kind !== "unix") {
      // Its reply is the first line back; it opens the connection or fails it (see onData).
      this.waiting.unshift({ auth: true, sentAt: Date.now(), waitMs: 0 });
      this.socket.write(JSON.stringify({ op: "auth", token }) + "\n");
    } else {
      this.onOpen();
    }
  }

  onOpen() {
    this.open = true;
    this.clearTimer();
    if (this.unwritten.length) this.write(this.unwritten.join(""));
    this.unwritten = [];
    if (this.ending) this.socket.end();
    this.armForOldest();
  }

  write(text) {
    this.socket.ref(); // a reply is owed: keep the process alive for it
    this.socket.write(text);
    if (!this.timer) this.armForOldest();
  }

  onData(text) {
    this.received += text;
    let newline;
    while (!this.failed && (newline = this.received.indexOf("\n")) >= 0) {
      const line = this.received.slice(0, newline);
      this.received = this.received.slice(newline + 1);
      this.onReply(line);
    }
  }

  onReply(line) {
    let reply;
    try {
      reply = JSON.parse(line);
    } catch (err) {
      this.fail(new ConnectionError(`unreadable reply from ${this.address.text}`, err));
      return;
    }
    const oldest = this.waiting.shift();
    if (!oldest) {
      // OVERLOADED is written on accept, before any request; anything else unasked is a bug.
      this.fail(reply.ok === false ? JobgateError.fromReply(reply)
        : new ConnectionError(`reply to no request from ${this.address.text}`));
      return;
    }
    this.clearTimer();
    if (oldest.auth) {
      if (reply.ok === true) {
        this.onOpen();
      } else {
        this.fail(JobgateError.fromReply(reply));
      }
      return;
    }
    oldest.resolve(reply);
    this.armForOldest();
  }

  /**
   * The oldest request's reply is due `callTimeout` (plus its own `wait`) after it was sent, and
   * never sooner than `callTimeout` after the reply before it: replies come in order, so a request
   * queued behind a waiting lease cannot be answered before that lease is.
   */
  armForOldest() {
    this.clearTimer();
    if (!this.open) return;
    const oldest = this.waiting[0];
    if (!oldest) {
      // An idle connection alone does not keep the process alive, unless someone awaits its end.
      if (!this.ending) this.socket.unref();
      return;
    }
    const due = Math.max(oldest.sentAt + this.callTimeout + oldest.waitMs - Date.now(), this.callTimeout);
    this.armTimer(due, () => new ConnectionError(
      `no reply from ${this.address.text} within ${due / 1000} s`));
  }

  armTimer(ms, makeError) {
    this.timer = setTimeout(() => this.fail(makeError()), ms);
    this.timer.unref();
  }

  clearTimer() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  fail(error) {
    if (this.failed) return;
    this.failed = error;
    this.clearTimer();
    this.socket.destroy();
    const waiting = this.waiting.filter((request) => !request.auth);
    this.waiting = [];
    this.unwritten = [];
    for (const request of waiting) request.reject(error);
  }
}

function dial(address, ca) {
  if (address.kind === "unix") return net.createConnection({ path: address.path });
  if (address.kind === "tcp") return net.createConnection({ host: address.host, port: address.port });
  return tls.connect({
    host: address.host,
    port: address.port,
    // SNI carries host names only (RFC 6066); the certificate is checked against the host either way.
    servername: net.isIP(address.host) ? undefined : address.host,
    ca,
    minVersion: "TLSv1.2",
  });
}

module.exports = { Connection };
