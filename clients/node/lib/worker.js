"use strict";
const EventEmitter = require("node:events");
const os = require("node:os");
const { setTimeout: sleep } = require("node:timers/promises");
const { Client } = require("./client");
const { JobgateError } = require("./errors");

const MAX_ERROR_TEXT = 65536; // jobgate keeps only the last 64 KiB of an error anyway
const STOP_SIGNALS = ["SIGINT", "SIGTERM"];

/**
 * Leases jobs from `queues` (in priority order) and runs `handlers[job.func](job)` for each,
 * `concurrency` at a time.
 *
 * Connections: each slot leases on a connection of its own, because a waiting lease holds up every
 * reply behind it on its connection (replies come in request order): a job leased behind another
 * slot's waiting lease would sit unworked until that wait ended. Heartbeats, acks, fails and
 * releases never wait, so all slots pipeline them on one shared connection.
 *
 * While a handler runs, `job.report(meta)` and `job.progress(n)` tell the gateway how it goes, and
 * `job.signal` aborts when the job must be given up: reason "stopped" when it was stopped (`stop`,
 * RQ's stop commands), heard at the next heartbeat (every `heartbeatInterval` seconds, default a
 * third of the lease), or the LEASE_LOST error. Either way the outcome is dropped.
 *
 * Events: "acked" (job, result), "failed" (job, errorText), "stopped" (job), "shutdown" (RQ's
 * shutdown command named this worker: it stops as after stop()), "warning" (message); warnings go
 * to stderr when nothing listens.
 */
class Worker extends EventEmitter {
  constructor({ queues, handlers, concurrency = 1, wait = 5, leaseFor, worker, retryDelay = 1, heartbeatInterval, ...clientOptions }) {
    super();
    this.queues = [].concat(queues || []);
    if (!this.queues.length) throw new TypeError("a Worker needs at least one queue");
    if (!handlers || typeof handlers !== "object" || !Object.values(handlers).every((h) => typeof h === "function")) {
      throw new TypeError("handlers must be an object mapping each func name to a function");
    }
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new TypeError(`concurrency must be a positive integer, not ${JSON.stringify(concurrency)}`);
    }
    if (heartbeatInterval !== undefined && !(typeof heartbeatInterval === "number" && heartbeatInterval > 0)) {
      throw new TypeError(`heartbeatInterval must be a positive number of seconds, not ${JSON.stringify(heartbeatInterval)}`);
    }
    this.heartbeatInterval = heartbeatInterval;
    this.handlers = handlers;
    this.concurrency = concurrency;
    this.wait = wait;
    this.leaseFor = leaseFor;
    this.name = worker || `${os.hostname()}.${process.pid}`;
    this.retryDelay = retryDelay;
    this.clientOptions = clientOptions;
    this.client = new Client(clientOptions);
    this.processed = 0;
    this.stopping = false;
    this.finished = Promise.resolve(0);
  }

  /**
   * Works until stop() (or SIGINT/SIGTERM while `handleSignals`). Resolves with how many jobs it
   * handled; rejects on an error retrying cannot fix, such as a bad queue name or a wrong token.
   */
  run({ handleSignals = true } = {}) {
    if (this.running) throw new Error("this worker is already running");
    this.running = true;
    this.stopping = false;
    this.stopController = new AbortController();
    const onSignal = () => this.stop();
    if (handleSignals) for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    this.finished = (async () => {
      try {
        const slots = await Promise.allSettled(Array.from({ length: this.concurrency }, (_, i) => this.slot(i)));
        const fatal = slots.find((slot) => slot.status === "rejected");
        if (fatal) throw fatal.reason;
        return this.processed;
      } finally {
        for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
        await this.client.close();
        this.running = false;
      }
    })();
    return this.finished;
  }

  /** Leases no more; the running jobs finish. Resolves when run() has returned. */
  stop() {
    this.stopping = true;
    if (this.stopController) this.stopController.abort();
    return this.finished.catch(() => this.processed);
  }

  async slot(index) {
    const leases = new Client(this.clientOptions);
    const name = this.concurrency > 1 ? `${this.name}.${index}` : this.name;
    try {
      while (!this.stopping) {
        let job;
        try {
          const reply = await leases.leaseReply(this.queues, { wait: this.wait, leaseFor: this.leaseFor, worker: name });
          if (reply.shutdown) {
            this.emit("shutdown", name);
            this.stop();
            break;
          }
          job = reply.job;
        } catch (err) {
          if (err instanceof JobgateError && !err.retryable) throw err;
          this.warn(`lease failed (${err.message}); retrying in ${this.retryDelay} s`);
          await this.pause(this.retryDelay);
          continue;
        }
        if (!job) {
          if (!this.wait) await this.pause(1); // no long poll: do not spin on an idle queue
        } else if (this.stopping) {
          // stop() came while the lease waited: hand the job back unspent.
          await this.release(job);
        } else {
          await this.work(job);
          this.processed += 1;
        }
      }
    } catch (err) {
      this.stop();
      throw err;
    } finally {
      await leases.close();
    }
  }

  /** Runs one leased job: heartbeats while its handler runs, then acks or fails it. */
  async work(job) {
    if (!Object.hasOwn(this.handlers, job.func)) {
      // Retrying on this worker cannot help; `requeue` it once a worker that has the func runs.
      const known = Object.keys(this.handlers).join(", ");
      await this.failJob(job, `no handler for func ${JSON.stringify(job.func)} (this worker has: ${known})`, false);
      return;
    }
    const lost = new AbortController();
    job.signal = lost.signal; // aborted when the job was stopped or the lease lost: the outcome will be dropped
    job.report = async (meta) => this.report(job, lost, { meta: checkedMeta(meta) });
    job.progress = async (percent) => this.report(job, lost, { progress: checkedProgress(percent) });
    const every = (this.heartbeatInterval || Math.max((job.lease_seconds || 30) / 3, 0.2)) * 1000;
    const beats = setInterval(() => this.heartbeat(job, lost), every);
    let result;
    let error = null;
    try {
      result = await this.handlers[job.func](job);
      JSON.stringify(result); // fail now, with a clear error, if it cannot be a result
    } catch (err) {
      error = errorText(err);
    } finally {
      clearInterval(beats);
    }
    if (lost.signal.aborted) {
      if (lost.signal.reason === "stopped") {
        this.emit("stopped", job);
      } else {
        this.warn(`job ${job.id}: lease lost while running; its outcome is dropped`);
      }
      return;
    }
    if (error === null) {
      try {
        if (await this.settle(job, "ack", () => this.client.ack(job, result))) this.emit("acked", job, result);
        return;
      } catch (err) {
        error = `ack refused: ${err}`; // e.g. TOO_LARGE: this result cannot be stored
      }
    }
    await this.failJob(job, error, true);
  }

  async failJob(job, error, retry) {
    try {
      if (await this.settle(job, "fail", () => this.client.fail(job, error, { retry }))) this.emit("failed", job, error);
    } catch (err) {
      this.warn(`job ${job.id}: fail refused: ${err}`);
    }
  }

  async release(job) {
    try {
      await this.settle(job, "release", () => this.client.release(job));
    } catch (err) {
      this.warn(`job ${job.id}: release refused: ${err}`);
    }
  }

  heartbeat(job, lost) {
    this.client.heartbeat(job).catch((err) => {
      if (!leaseEnded(err, lost)) this.warn(`heartbeat for ${job.id} failed: ${err.message}`);
    });
  }

  /** A heartbeat that only reports (extend 0). Resolves once sent; a stop it hears aborts job.signal. */
  async report(job, lost, fields) {
    if (lost.signal.aborted) return;
    try {
      await this.client.heartbeat(job, { extend: 0, ...fields });
    } catch (err) {
      if (!leaseEnded(err, lost)) throw err;
    }
  }

  /**
   * Sends an ack, fail or release, again over connection errors and retryable replies: if one
   * whose reply was lost did take effect, the next answers LEASE_LOST, which also means done.
   * Resolves true once settled, false when the job is no longer ours or the gateway stayed
   * unreachable (the lease then expires and the job runs again); rejects with any other error reply.
   */
  async settle(job, what, call, attempts = 5) {
    for (let attempt = 1; ; attempt++) {
      try {
        await call();
        return true;
      } catch (err) {
        if (err instanceof JobgateError && err.code === "STOPPED") {
          this.emit("stopped", job);
          return false;
        }
        if (err instanceof JobgateError && err.code === "LEASE_LOST") {
          this.warn(`job ${job.id}: ${what}: ${err.message}`);
          return false;
        }
        if (err instanceof JobgateError && !err.retryable) throw err;
        if (attempt === attempts) {
          this.warn(`job ${job.id}: ${what} failed ${attempts} times (${err.message}); it runs again when its lease expires`);
          return false;
        }
        await sleep(this.retryDelay * 1000);
      }
    }
  }

  pause(secs) {
    return sleep(secs * 1000, undefined, { signal: this.stopController.signal }).catch(() => {});
  }

  warn(message) {
    if (this.listenerCount("warning")) {
      this.emit("warning", message);
    } else {
      console.warn(`jobgate worker: ${message}`);
    }
  }
}

/** Aborts `lost` when `err` says the job is no longer to be worked on; returns whether it did. */
function leaseEnded(err, lost) {
  if (!(err instanceof JobgateError)) return false;
  if (err.code === "STOPPED") {
    lost.abort("stopped");
  } else if (err.code === "LEASE_LOST") {
    lost.abort(err);
  } else {
    return false;
  }
  return true;
}

function checkedMeta(meta) {
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
    throw new TypeError(`meta must be an object, not ${JSON.stringify(meta)}`);
  }
  return meta;
}

function checkedProgress(percent) {
  if (typeof percent !== "number" || !(percent >= 0 && percent <= 100)) {
    throw new RangeError(`progress must be a number from 0 to 100, not ${JSON.stringify(percent)}`);
  }
  return percent;
}

function errorText(err) {
  const text = err instanceof Error && err.stack ? err.stack : String(err);
  return text.slice(-MAX_ERROR_TEXT);
}

module.exports = { Worker };
