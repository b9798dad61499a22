"use strict";
// Every Client method against a real gateway and redis-server.
const assert = require("node:assert/strict");
const { describe, test } = require("node:test");
const { Client, JobgateError } = require("..");
const { uniqueQueue, useStack } = require("../test-support/stack");

const env = useStack();

async function rejectsWith(promise, code) {
  const err = await promise.then(() => assert.fail(`expected ${code}`), (e) => e);
  assert.ok(err instanceof JobgateError, `expected a JobgateError, got ${err}`);
  assert.equal(err.code, code, String(err));
  return err;
}

describe("producer ops", () => {
  test("ping reports the gateway version and a ready Redis", async () => {
    const reply = await env.client.ping();
    assert.equal(reply.redis, "ready");
    assert.equal(typeof reply.version, "string");
    assert.equal(reply.limits.max_batch, 10000);
  });

  test("auth succeeds when the gateway has no token", async () => {
    assert.equal((await env.client.auth("anything")).ok, true);
  });

  test("enqueue sends args, kwargs and options; job reads them back", async () => {
    const queue = uniqueQueue();
    const reply = await env.client.enqueue(queue, "mail.send", ["ada@example.com"], { subject: "hi" },
      { id: "welcome-ada", retries: 2, meta: { by: "node" }, description: "hello" });
    assert.deepEqual([reply.id, reply.state], ["welcome-ada", "queued"]);
    const job = await env.client.job("welcome-ada");
    assert.equal(job.queue, queue);
    assert.equal(job.func, "mail.send");
    assert.deepEqual(job.args, ["ada@example.com"]);
    assert.deepEqual(job.kwargs, { subject: "hi" });
    assert.deepEqual(job.meta, { by: "node" });
    assert.equal(job.description, "hello");
    assert.equal(job.retries_left, 2);
  });

  test("a delayed enqueue is scheduled with run_at", async () => {
    const reply = await env.client.enqueue(uniqueQueue(), "later", [], {}, { delay: 3600 });
    assert.equal(reply.state, "scheduled");
    assert.ok(reply.run_at > Date.now() / 1000 + 3000);
  });

  test("a duplicate id rejects DUPLICATE naming the job", async () => {
    const queue = uniqueQueue();
    await env.client.enqueue(queue, "f", [], {}, { id: "dup-1" });
    const err = await rejectsWith(env.client.enqueue(queue, "f", [], {}, { id: "dup-1" }), "DUPLICATE");
    assert.equal(err.id, "dup-1");
    assert.equal(err.retryable, false);
    assert.match(err.message, /already exists/);
    assert.match(String(err), /^JobgateError: DUPLICATE: /);
  });

  test("a misspelt option rejects BAD_REQUEST", async () => {
    const err = await rejectsWith(env.client.enqueue(uniqueQueue(), "f", [], {}, { retires: 3 }), "BAD_REQUEST");
    assert.match(err.message, /retires/);
  });

  test("enqueueMany answers each item; a duplicate fails only its own", async () => {
    const queue = uniqueQueue();
    const items = await env.client.enqueueMany([
      { func: "img.thumb", args: [1] },
      { func: "img.thumb", args: [2], id: "thumb-a" },
      { func: "img.thumb", args: [2], id: "thumb-a" },
    ], { queue });
    assert.equal(items.length, 3);
    assert.deepEqual(items.map((item) => item.ok), [true, true, false]);
    assert.equal(items[2].error.code, "DUPLICATE");
    assert.equal((await env.client.stats()).queues[queue].queued, 2);
  });

  test("lease returns null when nothing comes within wait", async () => {
    assert.equal(await env.client.lease(uniqueQueue(), { wait: 0.2 }), null);
  });

  test("lease, heartbeat and ack store the result", async () => {
    const queue = uniqueQueue();
    const { id } = await env.client.enqueue(queue, "work", [7]);
    const job = await env.client.lease([uniqueQueue("empty"), queue], { leaseFor: 30, worker: "node-test" });
    assert.equal(job.id, id);
    assert.deepEqual(job.args, [7]);
    assert.equal(job.lease_seconds, 30);
    assert.equal(job.attempt, 1);
    const expiresAt = await env.client.heartbeat(job, { extend: 120 });
    assert.ok(expiresAt > job.expires_at + 60, `${expiresAt} vs ${job.expires_at}`);
    assert.equal((await env.client.ack(job, { sent: true })).state, "finished");
    const stored = await env.client.job(id);
    assert.equal(stored.state, "finished");
    assert.deepEqual(stored.result, { sent: true });
    assert.equal(stored.worker, "node-test");
  });

  test("lease with count returns a list; ackMany settles each item", async () => {
    const queue = uniqueQueue();
    await env.client.enqueueMany([{ func: "a" }, { func: "b" }], { queue });
    const jobs = await env.client.lease(queue, { count: 5 });
    assert.deepEqual(jobs.map((job) => job.func), ["a", "b"]);
    const answers = await env.client.ackMany([
      { id: jobs[0].id, lease: jobs[0].lease, result: 1 },
      { id: jobs[1].id, lease: "0".repeat(32) },
    ]);
    assert.deepEqual(answers.map((answer) => answer.ok), [true, false]);
    assert.equal(answers[1].error.code, "LEASE_LOST");
    assert.equal((await env.client.job(jobs[0].id)).result, 1);
  });

  test("a stale lease rejects LEASE_LOST on heartbeat and ack; the same ack again answers as the first", async () => {
    const queue = uniqueQueue();
    await env.client.enqueue(queue, "f");
    const job = await env.client.lease(queue);
    const stale = { id: job.id, lease: "0".repeat(32) };
    await rejectsWith(env.client.heartbeat(stale), "LEASE_LOST");
    const first = await env.client.ack(job);
    assert.deepEqual(await env.client.ack(job), first);
    await rejectsWith(env.client.ack(stale), "LEASE_LOST");
  });

  test("fail retries while retries are left, then fails; failed lists it; requeue brings it back", async () => {
    const queue = uniqueQueue();
    const { id } = await env.client.enqueue(queue, "f", [], {}, { retries: 1 });
    const first = await env.client.lease(queue);
    const retried = await env.client.fail(first, "boom once");
    assert.deepEqual([retried.state, retried.retries_left], ["queued", 0]);
    const second = await env.client.lease(queue);
    assert.equal(second.attempt, 2);
    assert.equal((await env.client.fail(second, "ValueError: boom")).state, "failed");
    const page = await env.client.failed(queue, { limit: 10 });
    assert.equal(page.total, 1);
    assert.equal(page.jobs[0].id, id);
    assert.equal(page.next_offset, null);
    assert.equal(page.jobs[0].error, "ValueError: boom");
    assert.deepEqual(await env.client.requeue(id), { ok: true, requeued: 1, still_failed: 0 });
    await rejectsWith(env.client.requeue(id), "WRONG_STATE");
    assert.equal((await env.client.job(id)).state, "queued");
  });

  test("fail with retry false fails at once; requeue by queue moves some or all failed jobs", async () => {
    const queue = uniqueQueue();
    await env.client.enqueueMany([{ func: "a", retries: 3 }, { func: "b", retries: 3 }], { queue });
    for (const job of await env.client.lease(queue, { count: 2 })) {
      assert.equal((await env.client.fail(job, "fatal", { retry: false })).state, "failed");
    }
    assert.equal((await env.client.failed(queue)).total, 2);
    const step = await env.client.requeue({ queue, limit: 1 });
    assert.deepEqual([step.requeued, step.still_failed], [1, 1]);
    const rest = await env.client.requeue({ queue, all: true });
    assert.deepEqual([rest.requeued, rest.still_failed], [1, 0]);
  });

  test("release puts the job back without spending a retry", async () => {
    const queue = uniqueQueue();
    const { id } = await env.client.enqueue(queue, "f");
    const job = await env.client.lease(queue);
    assert.equal((await env.client.release(job)).state, "queued");
    const delayed = await env.client.release(await env.client.lease(queue), { delay: 600 });
    assert.equal(delayed.state, "scheduled");
    assert.equal((await env.client.job(id)).attempts, 2);
  });

  test("result waits for the job to end", async () => {
    const queue = uniqueQueue();
    const { id } = await env.client.enqueue(queue, "f");
    const notYet = await env.client.result(id, { wait: 0 });
    assert.equal(notYet.done, false);
    assert.equal(notYet.job.state, "queued");
    const worker = new Client(env.stack.gateway.tcpAddr);
    const waiting = env.client.result(id, { wait: 10 });
    await worker.ack(await worker.lease(queue), "done!");
    await worker.close();
    const { done, job } = await waiting;
    assert.equal(done, true);
    assert.equal(job.result, "done!");
  });

  test("cancel, delete and job's NOT_FOUND", async () => {
    const queue = uniqueQueue();
    const { id } = await env.client.enqueue(queue, "f");
    assert.equal((await env.client.cancel(id)).state, "canceled");
    await rejectsWith(env.client.cancel(id), "WRONG_STATE");
    assert.equal((await env.client.delete(id)).state, "deleted");
    const err = await rejectsWith(env.client.job(id), "NOT_FOUND");
    assert.match(err.message, new RegExp(id));
  });

  test("pause keeps leases away until resume", async () => {
    const queue = uniqueQueue();
    await env.client.enqueue(queue, "f");
    assert.deepEqual(await env.client.pause(queue), { ok: true, queue, paused: true, queued: 1 });
    assert.equal((await env.client.stats()).queues[queue].paused, true);
    assert.equal(await env.client.lease(queue), null);
    assert.equal((await env.client.resume(queue)).paused, false);
    assert.notEqual(await env.client.lease(queue), null);
  });

  test("stats counts per queue and the gateway's own counters", async () => {
    const queue = uniqueQueue();
    await env.client.enqueue(queue, "f");
    const stats = await env.client.stats();
    const { queued, started, scheduled, failed, finished, paused } = stats.queues[queue];
    assert.deepEqual({ queued, started, scheduled, failed, finished, paused },
      { queued: 1, started: 0, scheduled: 0, failed: 0, finished: 0, paused: false });
    assert.ok(stats.gateway.ops.enqueue >= 1);
  });

  test("an unknown op rejects UNKNOWN_OP through call", async () => {
    await rejectsWith(env.client.call({ op: "launch" }), "UNKNOWN_OP");
  });

  test("a bad queue name rejects BAD_REQUEST and the connection stays usable", async () => {
    await rejectsWith(env.client.enqueue("not a queue", "f"), "BAD_REQUEST");
    assert.equal((await env.client.ping()).redis, "ready");
  });
});

describe("pipelining", () => {
  test("many calls in flight on one connection get their own replies, in order", async () => {
    const queue = uniqueQueue();
    const pipelined = new Client(env.stack.gateway.tcpAddr);
    const calls = [];
    for (let i = 0; i < 500; i++) {
      calls.push(pipelined.enqueue(queue, "f", [i], {}, { id: `pipe-${queue}-${i}` }));
      if (i % 100 === 0) calls.push(pipelined.job(`missing-${i}`).catch((err) => err.code));
    }
    const replies = await Promise.all(calls);
    const enqueued = replies.filter((reply) => typeof reply === "object");
    assert.deepEqual(enqueued.map((reply) => reply.id), Array.from({ length: 500 }, (_, i) => `pipe-${queue}-${i}`));
    assert.deepEqual(replies.filter((reply) => typeof reply === "string"), Array(5).fill("NOT_FOUND"));
    const stats = await pipelined.stats();
    assert.equal(stats.queues[queue].queued, 500);
    await pipelined.close();
  });

  test("the calls share one connection", async () => {
    const watcher = new Client(env.stack.gateway.unixAddr);
    const before = (await watcher.stats()).gateway.connections_accepted;
    const pipelined = new Client(env.stack.gateway.tcpAddr);
    await Promise.all(Array.from({ length: 50 }, () => pipelined.ping()));
    assert.equal((await watcher.stats()).gateway.connections_accepted, before + 1);
    await pipelined.close();
    await watcher.close();
  });

  test("close() waits for the replies in flight", async () => {
    const closing = new Client(env.stack.gateway.tcpAddr);
    const replies = Promise.all([closing.ping(), closing.stats()]);
    await closing.close();
    const [ping, stats] = await replies;
    assert.equal(ping.redis, "ready");
    assert.equal(typeof stats.queues, "object");
  });

  test("a call behind a waiting lease is answered after it, and not timed out by it", async () => {
    const queue = uniqueQueue();
    const slow = new Client(env.stack.gateway.tcpAddr, { timeout: 0.5 });
    const started = Date.now();
    const [job, ping] = await Promise.all([
      slow.lease(queue, { wait: 1.5 }),
      slow.ping().then(() => Date.now() - started),
    ]);
    assert.equal(job, null);
    assert.ok(ping >= 1400, `the ping was answered after ${ping} ms, before the lease's wait ended`);
    await slow.close();
  });
});
