"use strict";

/** An error reply from jobgate. `code` is the protocol's code (LEASE_LOST, DUPLICATE, ...). */
class JobgateError extends Error {
  constructor(code, message, { retryable = false, id = null, reply = null } = {}) {
    super(`${code}: ${message}`);
    this.name = "JobgateError";
    // Reading the stack fixes its first line as "JobgateError: CODE: message" before `message`
    // becomes the gateway's bare text, so logs and traces show the code.
    this.stack; // eslint-disable-line no-unused-expressions
    this.code = code;
    this.message = message;
    this.retryable = retryable;
    this.id = id; // DUPLICATE names the job that already exists
    this.reply = reply;
  }

  toString() {
    return `${this.name}: ${this.code}: ${this.message}`;
  }

  static fromReply(reply) {
    const error = reply.error || {};
    return new JobgateError(error.code || "INTERNAL", error.message || "", {
      retryable: Boolean(error.retryable),
      id: reply.id === undefined ? null : reply.id,
      reply,
    });
  }
}

/**
 * The connection failed, closed or timed out. Every request in flight on it is rejected with
 * this error: it may or may not have taken effect, so it is never sent again behind your back.
 * The next call opens a new connection.
 */
class ConnectionError extends Error {
  constructor(message, cause) {
    super(cause ? `${message}: ${cause.message}` : message, cause ? { cause } : undefined);
    this.name = "ConnectionError";
    this.code = cause && cause.code ? cause.code : "ECONNECTION";
    this.retryable = true;
  }
}

module.exports = { JobgateError, ConnectionError };

