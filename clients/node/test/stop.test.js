"use strict";
// Progress and meta while a job runs, `stop` aborting a running handler's signal, and RQ's
// shutdown command ending a worker, against a real gateway and Redis.
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const { test } = require("node:test");
const { setTimeout: sleep } = require("node:timers/promises");
const { rejection, uniqueQueue, useStack, waitUntil } = require("../test-support/stack");
const { newWorker: workerOn } = require("../test-support/workers");

const env = useStack();

const newWorker = (...args) => workerOn(env, ...args);

function redisCli(...args) {
  return execFileSync("redis-cli", ["-s", env.stack.redis.socket, ...args], { encoding: "utf8" }).trim();
}

test("heartbeat reports meta and progress without extending; stop ends the lease with STOPPED", async () => {
  const c = env.client;
  const queue = uniqueQueue("report");
  const { id } = await c.enqueue(queue, "f");
  const job = await c.lease(queue);
  const first = await c.heartbeat(job, { meta: { step: "resize" } });
  assert.equal(await c.heartbeat(job, { extend: 0, progress: 40 }), first);
  assert.deepEqual((await c.job(id)).meta, { step: "resize", progress: 40 });
  assert.equal((await c.stop(id)).state, "stopped");
  assert.equal((await rejection(c.heartbeat(job))).code, "STOPPED");
  assert.equal((await c.job(id)).state, "stopped");
  assert.equal((await rejection(c.stop(id))).code, "WRONG_STATE");
});

test("stop aborts a handler that would run for minutes; the worker goes on to the next job", async () => {
  const queue = uniqueQueue("stop");
  let aborted = null;
  const worker = newWorker(queue, {
    crunch: async (job) => {
      await job.report({ step: "crunching" });
      await job.progress(25);
      const deadline = Date.now() + 600_000;
      while (!job.signal.aborted && Date.now() < deadline) await sleep(50);
      aborted = { reason: job.signal.reason, at: Date.now() };
      return "never acked";
    },
    quick: async () => "next job done",
  }, { heartbeatInterval: 0.5, leaseFor: 120 });
  const stopped = [];
  worker.on("stopped", (job) => stopped.push(job.id));
  const run = worker.run({ handleSignals: false });
  const { id } = await env.client.enqueue(queue, "crunch");
  await waitUntil(async () => ((await env.client.job(id)).meta || {}).progress === 25, { what: "the handler's progress" });
  assert.deepEqual((await env.client.job(id)).meta, { step: "crunching", progress: 25 });
  const stoppedAt = Date.now();
  assert.equal((await env.client.stop(id)).state, "stopped");
  await waitUntil(() => aborted !== null, { what: "the handler to see its signal abort" });
  assert.equal(aborted.reason, "stopped");
  assert.ok(aborted.at - stoppedAt < 3000, `heard after ${aborted.at - stoppedAt} ms`);
  const next = await env.client.enqueue(queue, "quick");
  const { done, job } = await env.client.result(next.id, { wait: 20 });
  assert.ok(done);
  assert.equal(job.result, "next job done");
  const endless = await env.client.job(id);
  assert.equal(endless.state, "stopped");
  assert.equal(endless.result, null);
  assert.deepEqual(stopped, [id]);
  await worker.stop();
  assert.equal(await run, 2);
  assert.deepEqual(worker.warnings, []);
});

test("a bad progress value is refused before it is sent", async () => {
  const queue = uniqueQueue("badprogress");
  const worker = newWorker(queue, { f: async (job) => job.progress(101) });
  const failed = new Promise((resolve) => worker.on("failed", (job, error) => resolve(error)));
  const run = worker.run({ handleSignals: false });
  await env.client.enqueue(queue, "f");
  assert.match(await failed, /progress must be a number from 0 to 100/);
  await worker.stop();
  await run;
});

test("RQ's shutdown command ends the worker after its running job", async () => {
  const queue = uniqueQueue("shutdown");
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const worker = newWorker(queue, { f: async () => { await held; return "finished first"; } }, { worker: "node-shut" });
  let shutdown = null;
  worker.on("shutdown", (name) => { shutdown = name; });
  const run = worker.run({ handleSignals: false });
  const running = await env.client.enqueue(queue, "f");
  const left = await env.client.enqueue(queue, "f");
  await waitUntil(async () => (await env.client.job(running.id)).state === "started", { what: "the job to start" });
  // What RQ's send_shutdown_command does.
  redisCli("PUBLISH", "rq:pubsub:node-shut", JSON.stringify({ command: "shutdown" }));
  await waitUntil(() => redisCli("EXISTS", "jobgate:shutdown:node-shut") === "1", { what: "the gateway to record it" });
  release();
  assert.equal(await run, 1);
  assert.equal(shutdown, "node-shut");
  assert.equal((await env.client.job(running.id)).result, "finished first");
  assert.equal((await env.client.job(left.id)).state, "queued");
});
