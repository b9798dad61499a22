"use strict";
// The Worker against a real gateway: handlers run, results are stored, throws fail, stops are graceful.
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const path = require("node:path");
const { test } = require("node:test");
const { Worker } = require("..");
const { spawnChild, uniqueQueue, useStack, waitUntil } = require("../test-support/stack");
const { newWorker: workerOn } = require("../test-support/workers");

const env = useStack();

const newWorker = (...args) => workerOn(env, ...args);

async function finalState(id) {
  const { done, job } = await env.client.result(id, { wait: 20 });
  assert.ok(done, `job ${id} did not end: ${JSON.stringify(job)}`);
  return job;
}

/** A promise with its resolve function, to hold a handler until the test lets it go. */
function gate() {
  let open;
  const opened = new Promise((resolve) => { open = resolve; });
  return { opened, open };
}

test("jobs run concurrently through their handlers and their results are stored", async () => {
  const queue = uniqueQueue();
  const running = new Set();
  let most = 0;
  const worker = newWorker(queue, {
    "math.add": async (job) => {
      running.add(job.id);
      most = Math.max(most, running.size);
      await waitUntil(() => most >= 2, { what: "a second job to run alongside" });
      running.delete(job.id);
      return job.args[0] + job.args[1];
    },
  }, { concurrency: 2 });
  const run = worker.run({ handleSignals: false });
  const ids = (await env.client.enqueueMany([1, 2, 3, 4].map((n) => ({ func: "math.add", args: [n, 10] })), { queue })).map((r) => r.id);
  const jobs = await Promise.all(ids.map(finalState));
  assert.deepEqual(jobs.map((job) => [job.state, job.result]), [[ "finished", 11], ["finished", 12], ["finished", 13], ["finished", 14]]);
  assert.equal(most, 2);
  await worker.stop();
  assert.equal(await run, 4);
  assert.deepEqual(worker.warnings, []);
});

test("a throwing handler fails the attempt with its error; retries are honoured", async () => {
  const queue = uniqueQueue();
  const attempts = [];
  const worker = newWorker(queue, {
    "img.thumb": async (job) => {
      attempts.push(job.attempt);
      throw new Error(`bad image on attempt ${job.attempt}`);
    },
  });
  const failures = [];
  worker.on("failed", (job, error) => failures.push(error));
  const run = worker.run({ handleSignals: false });
  const { id } = await env.client.enqueue(queue, "img.thumb", ["cat.png"], {}, { retries: 1 });
  const job = await finalState(id);
  assert.equal(job.state, "failed");
  assert.match(job.error, /^Error: bad image on attempt 2\n\s+at /);
  assert.deepEqual(attempts, [1, 2]);
  assert.equal(failures.length, 2);
  await worker.stop();
  await run;
});

test("a func without a handler fails at once, without spending retries on this worker", async () => {
  const queue = uniqueQueue();
  const worker = newWorker(queue, { known: async () => "ok" });
  const run = worker.run({ handleSignals: false });
  const { id } = await env.client.enqueue(queue, "unknown.func", [], {}, { retries: 5 });
  const job = await finalState(id);
  assert.equal(job.state, "failed");
  assert.equal(job.error, 'no handler for func "unknown.func" (this worker has: known)');
  assert.equal(job.retries_left, 5);
  await worker.stop();
  await run;
});

test("a result that cannot be JSON fails the job with a clear error", async () => {
  const queue = uniqueQueue();
  const worker = newWorker(queue, { big: async () => 10n });
  const run = worker.run({ handleSignals: false });
  const { id } = await env.client.enqueue(queue, "big");
  assert.match((await finalState(id)).error, /BigInt/);
  await worker.stop();
  await run;
});

test("heartbeats keep a job that outlives its lease", async () => {
  const queue = uniqueQueue();
  const worker = newWorker(queue, {
    slow: async (job) => {
      const until = Date.now() + 2500;
      await waitUntil(() => Date.now() > until, { interval: 100 });
      return job.lease_seconds;
    },
  }, { leaseFor: 1 });
  const run = worker.run({ handleSignals: false });
  const { id } = await env.client.enqueue(queue, "slow");
  const job = await finalState(id);
  assert.deepEqual([job.state, job.result, job.attempts], ["finished", 1, 1]);
  await worker.stop();
  await run;
});

test("a lost lease aborts job.signal and drops the outcome", async () => {
  const queue = uniqueQueue();
  const started = gate();
  const worker = newWorker(queue, {
    doomed: async (job) => {
      started.open(job);
      await new Promise((resolve) => job.signal.addEventListener("abort", resolve));
      return "too late";
    },
  }, { leaseFor: 1 });
  let acked = false;
  worker.on("acked", () => { acked = true; });
  const run = worker.run({ handleSignals: false });
  const { id } = await env.client.enqueue(queue, "doomed");
  const job = await started.opened;
  // Take the lease away in Redis, as an expiry sweep would.
  execFileSync("redis-cli", ["-s", env.stack.redis.socket, "ZREM", `rq:wip:${queue}`, `${id}:${job.lease}`]);
  await waitUntil(() => worker.warnings.some((w) => w.includes("lease lost while running")), { what: "the lost lease" });
  assert.equal(job.signal.reason.code, "LEASE_LOST");
  await worker.stop();
  await run;
  assert.equal(acked, false);
  assert.notEqual((await env.client.job(id)).state, "finished");
});

test("stop() lets the running job finish, then run() resolves", async () => {
  const queue = uniqueQueue();
  const started = gate();
  const release = gate();
  const worker = newWorker(queue, {
    held: async () => {
      started.open();
      await release.opened;
      return "finished after stop";
    },
  });
  const run = worker.run({ handleSignals: false });
  const { id } = await env.client.enqueue(queue, "held");
  await started.opened;
  let stopped = false;
  const stopping = worker.stop().then(() => { stopped = true; });
  await env.client.ping(); // a round trip, during which a stop that did not wait would have finished
  assert.equal(stopped, false);
  release.open();
  await stopping;
  assert.equal(await run, 1);
  const job = await env.client.job(id);
  assert.deepEqual([job.state, job.result], ["finished", "finished after stop"]);
});

test("SIGTERM stops a worker process gracefully", async () => {
  const queue = uniqueQueue();
  const script = `
    const { Worker } = require(${JSON.stringify(path.resolve(__dirname, ".."))});
    const worker = new Worker({ queues: [${JSON.stringify(queue)}], wait: 1, handlers: {
      slow: async () => { console.log("started"); await new Promise((r) => setTimeout(r, 1000)); return "survived SIGTERM"; },
    } });
    worker.run().then((n) => console.log("handled", n));`;
  const child = spawnChild(process.execPath, ["-e", script], {
    env: { ...process.env, JOBGATE_ADDR: env.stack.gateway.unixAddr }, stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (data) => { output += data; });
  const { id } = await env.client.enqueue(queue, "slow");
  await waitUntil(() => output.includes("started"), { what: "the job to start" });
  child.kill("SIGTERM");
  assert.equal(await child.exited, 0);
  assert.match(output, /handled 1/);
  assert.equal((await env.client.job(id)).result, "survived SIGTERM");
});

test("an error retrying cannot fix (a bad queue name) rejects run()", async () => {
  const worker = newWorker("not a queue", { f: async () => null });
  await assert.rejects(worker.run({ handleSignals: false }), { name: "JobgateError", code: "BAD_REQUEST" });
});

test("a bad worker configuration is refused at once", () => {
  assert.throws(() => new Worker({ queues: [], handlers: {} }), /at least one queue/);
  assert.throws(() => new Worker({ queues: ["q"], handlers: { f: "not a function" } }), /handlers must be/);
  assert.throws(() => new Worker({ queues: ["q"], handlers: {}, concurrency: 0 }), /concurrency/);
});
