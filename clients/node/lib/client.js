"use strict";
const fs = require("node:fs");
const { DEFAULT_ADDR, parseAddress } = require("./address");
const { Connection } = require("./connection");
const { JobgateError } = require("./errors");

/**
 * A producer's (and worker's) handle on jobgate: one method per op of protocol.md, each returning
 * a promise. Calls made without awaiting each other share one connection in flight (pipelining);
 * their replies come back in the order the calls were made.
 *
 * Options: addr (else $JOBGATE_ADDR, else tcp://127.0.0.1:7700), token (else $JOBGATE_TOKEN;
 * sent over TCP and TLS, never over Unix sockets), tlsCa (a PEM file, else $JOBGATE_TLS_CA, else
 * Node's trusted CAs), connectTimeout and timeout (seconds; a call's own `wait` is added to it).
 */
class Client {
  constructor(addr, options = {}) {
    if (addr !== null && typeof addr === "object") {
      options = addr;
      addr = options.addr;
    }
    this.address = parseAddress(addr || process.env.JOBGATE_ADDR || DEFAULT_ADDR);
    this.addr = this.address.text;
    this.token = options.token === undefined ? process.env.JOBGATE_TOKEN : options.token;
    this.connectTimeout = seconds(options.connectTimeout, 10, "connectTimeout");
    this.timeout = seconds(options.timeout, 30, "timeout");
    const tlsCa = options.tlsCa === undefined ? process.env.JOBGATE_TLS_CA : options.tlsCa;
    this.ca = this.address.kind === "tls" && tlsCa ? readCa(tlsCa) : undefined;
    this.connection = null;
  }

  /** Sends one request; resolves with the reply, or rejects with JobgateError or ConnectionError. */
  async call(request, { wait = 0 } = {}) {
    const reply = await this.send(request, wait);
    if (reply.ok !== true) throw JobgateError.fromReply(reply);
    return reply;
  }

  /** Sends one request and resolves with its reply as it came, error replies included. */
  send(request, wait = 0) {
    if (!this.connection || !this.connection.usable) {
      this.connection = new Connection(this.address, {
        token: this.token,
        ca: this.ca,
        connectTimeout: this.connectTimeout * 1000,
        callTimeout: this.timeout * 1000,
      });
    }
    return this.connection.request(request, wait * 1000);
  }

  /** Closes the connection once the replies to every call made so far have arrived. */
  async close() {
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.end();
  }

  ping() {
    return this.call({ op: "ping" });
  }

  /** Authenticates this connection; done for you on connect when the client has a token. */
  auth(token) {
    return this.call({ op: "auth", token });
  }

  /**
   * Options (id, delay, at, retries, retry_intervals, timeout, meta, depends_on, ...) are sent as
   * given, so a misspelt one is refused by jobgate instead of ignored. Resolves with id, state
   * and, for a scheduled job, run_at.
   */
  enqueue(queue, func, args = [], kwargs = {}, options = {}) {
    return this.call({ op: "enqueue", queue, func, args, kwargs, ...options });
  }

  /** One atomic batch. Resolves with one {ok, id, state} or {ok: false, id, error} per job. */
  async enqueueMany(jobs, { queue } = {}) {
    return (await this.call({ op: "enqueue", jobs, ...(queue === undefined ? {} : { queue }) })).jobs;
  }

  /**
   * Leases from `queues` (a name or a list, in priority order). Resolves with a job or null;
   * with `count`, with a list of jobs, maybe empty. A waiting lease holds up every reply after
   * it on this connection.
   */
  async lease(queues, options = {}) {
    const reply = await this.leaseReply(queues, options);
    return options.count === undefined ? reply.job : reply.jobs;
  }

  /**
   * `lease`, resolving with the whole reply: `job` (or `jobs`), and `shutdown: true` when RQ's
   * shutdown command named `worker` (then no job is leased).
   */
  leaseReply(queues, { wait = 0, count, leaseFor, worker } = {}) {
    const request = { op: "lease", queues: [].concat(queues) };
    if (wait) request.wait = wait;
    if (count !== undefined) request.count = count;
    if (leaseFor !== undefined) request.lease_for = leaseFor;
    if (worker !== undefined) request.worker = worker;
    return this.call(request, { wait });
  }

  /**
   * `job` is the leased job (or any {id, lease}). Options: `extend` (seconds; 0 only reports),
   * `meta` (replaces the job's meta), `progress` (0 to 100, stored in the meta). Resolves with the
   * new expires_at; rejects with LEASE_LOST or STOPPED once the job is not to be worked on.
   */
  async heartbeat(job, options = {}) {
    return (await this.heartbeatReply(job, options)).expires_at;
  }

  /** `heartbeat`, resolving with the whole reply: `expires_at`, and `shutdown` as for leaseReply. */
  heartbeatReply(job, { extend, meta, progress } = {}) {
    const request = { op: "heartbeat", id: job.id, lease: job.lease };
    if (extend !== undefined) request.extend = extend;
    if (meta !== undefined) request.meta = meta;
    if (progress !== undefined) request.progress = progress;
    return this.call(request);
  }

  ack(job, result) {
    const request = { op: "ack", id: job.id, lease: job.lease };
    if (result !== undefined) request.result = result;
    return this.call(request);
  }

  /** Acks many leased jobs in one request: `items` are {id, lease, result?}. One answer per item. */
  async ackMany(items) {
    return (await this.call({ op: "ack", jobs: items })).jobs;
  }

  fail(job, error = "", { retry = true } = {}) {
    return this.call({ op: "fail", id: job.id, lease: job.lease, error, retry });
  }

  release(job, { delay } = {}) {
    const request = { op: "release", id: job.id, lease: job.lease };
    if (delay !== undefined) request.delay = delay;
    return this.call(request);
  }

  /** Resolves with the job (state, result, error, times, ...). Rejects NOT_FOUND. */
  async job(id) {
    return (await this.call({ op: "job", id })).job;
  }

  /** Waits up to `wait` seconds for the job to end. Resolves with {done, job}. */
  async result(id, { wait = 0 } = {}) {
    const { done, job } = await this.call({ op: "result", id, wait }, { wait });
    return { done, job };
  }

  /**
   * A page of a queue's failed jobs, oldest failure first. Resolves with {total, jobs,
   * next_offset}: the next page's offset, or null after the last (a page may end before `limit`
   * at the gateway's max_page_bytes).
   */
  async failed(queue, { offset, limit } = {}) {
    const { total, jobs, next_offset } = await this.call({ op: "failed", queue, offset, limit });
    return { total, jobs, next_offset };
  }

  /**
   * `requeue("job-id")` for one failed job, or `requeue({queue, all: true})` /
   * `requeue({queue, limit})` for many. Resolves with {requeued, still_failed}.
   */
  requeue(target) {
    return this.call(typeof target === "string" ? { op: "requeue", id: target } : { op: "requeue", ...target });
  }

  /** Stops a started job: resolves with state `stopped` (`stopping` for a real RQ worker's job). */
  stop(id) {
    return this.call({ op: "stop", id });
  }

  cancel(id) {
    return this.call({ op: "cancel", id });
  }

  delete(id) {
    return this.call({ op: "delete", id });
  }

  pause(queue) {
    return this.call({ op: "pause", queue });
  }

  resume(queue) {
    return this.call({ op: "resume", queue });
  }

  /** Resolves with {queues: {name: counts}, gateway: counters}. */
  stats() {
    return this.call({ op: "stats" });
  }
}

function seconds(value, fallback, name) {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) {
    throw new TypeError(`${name} must be a positive number of seconds, not ${JSON.stringify(value)}`);
  }
  return value;
}

function readCa(path) {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the TLS CA file ${path}: ${err.message}`, { cause: err });
  }
}

module.exports = { Client };
