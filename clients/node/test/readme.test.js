"use strict";
// Runs every ```js example of the Node section of clients/README.md against a real gateway, with
// the module installed the way the README says (the folder copied into node_modules/jobgate).
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { afterEach, beforeEach, test } = require("node:test");
const { Client } = require("..");
const { ROOT, Stack, spawnChild, waitUntil } = require("../test-support/stack");

const README = path.join(ROOT, "clients", "README.md");

/** The Node section's ```js blocks, by the file name each one's first line gives (`// NAME.js`). */
function nodeExamples() {
  const text = fs.readFileSync(README, "utf8");
  const start = text.indexOf("\n## Node: `node/`");
  assert.ok(start >= 0, "clients/README.md has no Node section");
  const end = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const examples = {};
  for (const [, code] of section.matchAll(/```js\n([\s\S]*?)```/g)) {
    const name = /^\/\/ (\S+\.js)\n/.exec(code);
    assert.ok(name, `a js block in the Node section does not start with "// NAME.js":\n${code}`);
    examples[name[1]] = code;
  }
  return examples;
}

const examples = nodeExamples();
let stack;
let dir;
beforeEach(async () => {
  stack = await Stack.start();
  dir = fs.mkdtempSync(path.join(stack.dir, "app-"));
  fs.cpSync(path.join(ROOT, "clients", "node"), path.join(dir, "node_modules", "jobgate"), { recursive: true });
});
afterEach(async () => { await stack.close(); });

function runExample(name) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, examples[name]);
  const child = spawnChild(process.execPath, [file], {
    cwd: dir, env: { ...process.env, JOBGATE_ADDR: stack.gateway.tcpAddr }, stdio: ["ignore", "pipe", "pipe"],
  });
  child.output = { stdout: "", stderr: "" };
  child.stdout.on("data", (data) => { child.output.stdout += data; });
  child.stderr.on("data", (data) => { child.output.stderr += data; });
  return child;
}

test("the README has exactly the examples this test knows how to run", () => {
  assert.deepEqual(Object.keys(examples).sort(), ["producer.js", "worker.js"]);
});

test("producer.js enqueues, pipelines, leases and acks as its comments say", async () => {
  const child = runExample("producer.js");
  assert.equal(await child.exited, 0, child.output.stderr);
  assert.equal(child.output.stdout, "finished 5\n");
  const client = new Client(stack.gateway.tcpAddr);
  const job = await client.job("welcome-ada");
  assert.deepEqual([job.result, job.worker, job.retries_left], [{ sent: true }, "mailer-1", 3]);
  await client.close();
});

test("worker.js runs jobs, reports failures, and stops on SIGTERM", async () => {
  const child = runExample("worker.js");
  const client = new Client(stack.gateway.tcpAddr);
  const { id } = await client.enqueue("images", "images.resize", ["cat.jpg", 200]);
  const resized = await client.result(id, { wait: 20 });
  assert.deepEqual([resized.done, resized.job.result], [true, { thumb: "200-cat.jpg" }]);
  const unknown = await client.enqueue("images", "images.rotate", ["cat.jpg"]);
  await waitUntil(() => child.output.stderr.includes(`${unknown.id} failed: no handler for func "images.rotate"`),
    { what: "the worker to report the failure" });
  await client.close();
  child.kill("SIGTERM");
  assert.equal(await child.exited, 0, child.output.stderr);
  assert.equal(child.output.stdout, "stopped after 2 jobs\n");
});
