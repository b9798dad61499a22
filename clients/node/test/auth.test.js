"use strict";
// Token auth against a real gateway started with --token.
const assert = require("node:assert/strict");
const { test } = require("node:test");
const { Client, ConnectionError, JobgateError } = require("..");
const { rejection, uniqueQueue, useStack } = require("../test-support/stack");

const TOKEN = "s3cret-node-token";
const env = useStack({ gatewayArgs: ["--token", TOKEN] });

async function authCount() {
  const watcher = new Client(env.stack.gateway.unixAddr);
  const count = (await watcher.stats()).gateway.ops.auth || 0;
  await watcher.close();
  return count;
}


test("the token is sent as auth on connect over TCP", async () => {
  const client = new Client(env.stack.gateway.tcpAddr, { token: TOKEN });
  const { id } = await client.enqueue(uniqueQueue(), "f");
  assert.equal((await client.job(id)).state, "queued");
  await client.close();
});

test("the token defaults to JOBGATE_TOKEN", async () => {
  process.env.JOBGATE_TOKEN = TOKEN;
  try {
    const client = new Client(env.stack.gateway.tcpAddr);
    assert.equal((await client.ping()).redis, "ready");
    await client.close();
  } finally {
    delete process.env.JOBGATE_TOKEN;
  }
});

test("a wrong token rejects every pipelined call with UNAUTHORIZED, without showing the token", async () => {
  const wrong = "not-the-token-xyz";
  const client = new Client(env.stack.gateway.tcpAddr, { token: wrong });
  const errors = await Promise.all([client.ping(), client.stats(), client.enqueue(uniqueQueue(), "f")].map(rejection));
  for (const err of errors) {
    assert.ok(err instanceof JobgateError, String(err));
    assert.equal(err.code, "UNAUTHORIZED");
    assert.equal(err.message, "wrong token");
    assert.ok(!String(err.stack).includes(wrong) && !String(err).includes(wrong));
  }
  const again = await rejection(client.ping()); // a new connection, the same token
  assert.equal(again.code, "UNAUTHORIZED");
});

test("without a token a TCP call rejects UNAUTHORIZED", async () => {
  const client = new Client(env.stack.gateway.tcpAddr, { token: "" });
  const err = await rejection(client.ping());
  assert.equal(err.code, "UNAUTHORIZED");
  assert.match(err.message, /auth/);
});

test("auth() authenticates a connection by hand", async () => {
  const client = new Client(env.stack.gateway.tcpAddr, { token: "" });
  const [auth, ping] = await Promise.all([client.auth(TOKEN), client.ping()]);
  assert.deepEqual([auth.ok, ping.redis], [true, "ready"]);
  await client.close();
});

test("the token is never sent over a Unix socket", async () => {
  const before = await authCount();
  const client = new Client(env.stack.gateway.unixAddr, { token: "wrong-but-unused" });
  assert.equal((await client.ping()).redis, "ready");
  await client.close();
  assert.equal(await authCount(), before);
});

test("auth is part of connecting: an unanswered auth hits the connect timeout", async () => {
  const client = new Client(env.stack.gateway.tcpAddr, { token: TOKEN, connectTimeout: 0.3, timeout: 30 });
  env.stack.gateway.proc.kill("SIGSTOP");
  let err;
  try {
    err = await rejection(client.ping());
  } finally {
    env.stack.gateway.proc.kill("SIGCONT");
  }
  assert.ok(err instanceof ConnectionError, String(err));
  assert.match(err.message, /no connection to tcp:\/\/127\.0\.0\.1:\d+ within 0\.3 s/);
  assert.ok(!err.message.includes(TOKEN));
  assert.equal((await client.ping()).redis, "ready");
  await client.close();
});
