"use strict";
// Addresses, timeouts, lost connections and reconnecting, against a real gateway.
const assert = require("node:assert/strict");
const { describe, test } = require("node:test");
const { Client, ConnectionError, JobgateError, parseAddress } = require("..");
const { freePort, rejection, uniqueQueue, useStack, waitUntil } = require("../test-support/stack");

const env = useStack();


describe("addresses", () => {
  test("tcp, tls, unix and bracketed IPv6 addresses parse", () => {
    assert.deepEqual(parseAddress("tcp://127.0.0.1:7700"), { kind: "tcp", host: "127.0.0.1", port: 7700, text: "tcp://127.0.0.1:7700" });
    assert.deepEqual(parseAddress("tls://jobs.example.com:7443"), { kind: "tls", host: "jobs.example.com", port: 7443, text: "tls://jobs.example.com:7443" });
    assert.equal(parseAddress("tcp://[::1]:7700").host, "::1");
    assert.deepEqual(parseAddress("unix:/run/jobgate/jobgate.sock"), { kind: "unix", path: "/run/jobgate/jobgate.sock", text: "unix:/run/jobgate/jobgate.sock" });
  });

  for (const bad of ["127.0.0.1:7700", "tcp://127.0.0.1", "tcp://host:99999", "unix:", "http://x:1", ""]) {
    test(`${JSON.stringify(bad)} is refused with a clear message`, () => {
      assert.throws(() => new Client(bad || 42), /bad jobgate address|must be a string/);
    });
  }

  test("the address comes from the constructor, else JOBGATE_ADDR, else the default", () => {
    const saved = process.env.JOBGATE_ADDR;
    try {
      process.env.JOBGATE_ADDR = "unix:/tmp/from-env.sock";
      assert.equal(new Client().addr, "unix:/tmp/from-env.sock");
      assert.equal(new Client({ token: "t" }).addr, "unix:/tmp/from-env.sock");
      assert.equal(new Client("tcp://10.0.0.1:1").addr, "tcp://10.0.0.1:1");
      delete process.env.JOBGATE_ADDR;
      assert.equal(new Client().addr, "tcp://127.0.0.1:7700");
    } finally {
      if (saved === undefined) delete process.env.JOBGATE_ADDR; else process.env.JOBGATE_ADDR = saved;
    }
  });

  test("timeouts must be positive numbers of seconds", () => {
    assert.throws(() => new Client("tcp://127.0.0.1:1", { timeout: 0 }), /timeout must be a positive number/);
    assert.throws(() => new Client("tcp://127.0.0.1:1", { connectTimeout: "5" }), /connectTimeout/);
  });

  test("the Unix socket speaks the same protocol", async () => {
    const client = new Client(env.stack.gateway.unixAddr);
    const { id } = await client.enqueue(uniqueQueue(), "over.unix");
    assert.equal((await client.job(id)).func, "over.unix");
    await client.close();
  });
});

describe("failures", () => {
  test("a refused connection rejects with ConnectionError naming the address", async () => {
    const addr = `tcp://127.0.0.1:${await freePort()}`;
    const err = await rejection(new Client(addr).ping());
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(err.code, "ECONNREFUSED");
    assert.equal(err.retryable, true);
    assert.ok(err.message.includes(addr), err.message);
  });

  test("a request that cannot be JSON is refused before anything is sent", async () => {
    const client = new Client(env.stack.gateway.tcpAddr);
    await assert.rejects(client.call({ op: "ping", big: 1n }), TypeError);
    assert.equal((await client.ping()).redis, "ready");
    await client.close();
  });

  test("no reply within the timeout rejects every call in flight; the next call reconnects", async () => {
    const client = new Client(env.stack.gateway.tcpAddr, { timeout: 0.3 });
    await client.ping();
    env.stack.gateway.proc.kill("SIGSTOP");
    try {
      const errors = await Promise.all([client.ping(), client.stats()].map(rejection));
      for (const err of errors) {
        assert.ok(err instanceof ConnectionError, String(err));
        assert.match(err.message, /no reply from tcp:\/\/127\.0\.0\.1:\d+ within 0\.3 s/);
      }
    } finally {
      env.stack.gateway.proc.kill("SIGCONT");
    }
    assert.equal((await client.ping()).redis, "ready");
    await client.close();
  });

  test("OVERLOADED is a retryable JobgateError", async () => {
    const small = await env.stack.addGateway(["--max-connections", "1"]);
    const holder = new Client(small.tcpAddr);
    await holder.ping();
    const err = await rejection(new Client(small.tcpAddr).ping());
    assert.ok(err instanceof JobgateError, String(err));
    assert.equal(err.code, "OVERLOADED");
    assert.equal(err.retryable, true);
    await holder.close();
    await small.stop();
  });

  test("after a gateway restart the next call reconnects; the call in flight is rejected, not re-sent", async () => {
    const queue = uniqueQueue();
    const client = new Client(env.stack.gateway.tcpAddr);
    await client.ping();
    const waiting = rejection(client.lease(queue, { wait: 30 }));
    const watcher = new Client(env.stack.gateway.unixAddr);
    await waitUntil(async () => (await watcher.stats()).gateway.waiting_leases === 1, { what: "the lease to wait" });
    await watcher.close();
    await env.stack.gateway.stop("SIGKILL");
    const err = await waiting;
    assert.ok(err instanceof ConnectionError, String(err));
    await env.stack.gateway.start();

    assert.deepEqual(await client.enqueue(queue, "after.restart", [], {}, { id: `restart-${queue}` }),
      { ok: true, id: `restart-${queue}`, state: "queued" });
    const ops = (await client.stats()).gateway.ops;
    assert.equal(ops.lease, undefined, `the lease was sent again: ${JSON.stringify(ops)}`);
    assert.equal(ops.enqueue, 1);
    await client.close();
  });
});
