"use strict";
// A real redis-server and real jobgate gateways for the tests, each in its own temp directory,
// mirroring Tests/harness/jobgate_harness.py. Outside test/ so `node --test test/` does not run it.
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { after, before } = require("node:test");
const { setTimeout: sleep } = require("node:timers/promises");
const { Client } = require("..");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const children = new Set();
// A test process that dies early leaves no redis-server or gateway behind.
process.on("exit", () => { for (const child of children) child.kill("SIGKILL"); });

function jobgateBinary() {
  return process.env.JOBGATE_BIN || path.join(ROOT, ".build", "debug", "jobgate");
}

/** Polls `predicate` (sync or async) until it returns something truthy, which it returns. */
async function waitUntil(predicate, { timeout = 10000, interval = 10, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    await sleep(interval);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * One request over a fresh socket, without the client under test: resolves with the reply object,
 * or null when the socket fails first.
 */
function rawCall(target, request, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const socket = net.createConnection(target);
    let text = "";
    const done = (reply) => { socket.destroy(); resolve(reply); };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on("error", () => done(null));
    socket.on("close", () => done(null));
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) done(JSON.parse(text.slice(0, text.indexOf("\n"))));
    });
    socket.write(JSON.stringify(request) + "\n");
  });
}

function spawnChild(command, args, options) {
  const child = spawn(command, args, options);
  children.add(child);
  child.exited = new Promise((resolve) => child.on("exit", (code, signal) => {
    children.delete(child);
    resolve(code === null ? signal : code);
  }));
  return child;
}

async function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  return child.exited;
}

class RedisServer {
  constructor(dir) {
    this.dir = dir;
    this.socket = path.join(dir, "redis.sock");
    this.url = `unix://${this.socket}`;
  }

  async start() {
    this.proc = spawnChild("redis-server", [
      "--port", "0", "--unixsocket", this.socket, "--unixsocketperm", "700", "--dir", this.dir,
      "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no",
      "--logfile", path.join(this.dir, "redis.log"),
    ], { stdio: "ignore" });
    await waitUntil(() => this.answers(), { what: "redis-server to answer" });
    return this;
  }

  answers() {
    return new Promise((resolve) => {
      const socket = net.createConnection(this.socket);
      socket.on("error", () => resolve(false));
      socket.on("data", (data) => { socket.destroy(); resolve(data.toString().startsWith("+PONG")); });
      socket.write("PING\r\n");
    });
  }
}

/** A jobgate process listening on a free TCP port and a Unix socket, plus `extraArgs`. */
class Gateway {
  constructor(dir, redisUrl, { extraArgs = [], name = "jobgate" } = {}) {
    this.dir = dir;
    this.redisUrl = redisUrl;
    this.extraArgs = extraArgs;
    this.unix = path.join(dir, `${name}.sock`);
    this.logPath = path.join(dir, `${name}.log`);
  }

  get tcpAddr() {
    return `tcp://127.0.0.1:${this.port}`;
  }

  get unixAddr() {
    return `unix:${this.unix}`;
  }

  /** Starts the gateway, on the same port as before when restarted. */
  async start() {
    this.port = this.port || (await freePort());
    // A free port is only free when chosen: another process may take it first.
    for (let attempt = 1; ; attempt++) {
      const log = fs.openSync(this.logPath, "a");
      this.proc = spawnChild(jobgateBinary(), [
        "serve", "--listen", this.tcpAddr, "--listen", this.unixAddr, "--redis", this.redisUrl, ...this.extraArgs,
      ], { cwd: this.dir, stdio: ["ignore", log, log] });
      fs.closeSync(log);
      try {
        await this.waitReady();
        return this;
      } catch (err) {
        if (attempt === 5 || !this.log().includes("address already in use")) throw err;
        this.port = await freePort();
      }
    }
  }

  async waitReady() {
    await waitUntil(async () => {
      if (this.proc.exitCode !== null) throw new Error(`jobgate exited with ${this.proc.exitCode}:\n${this.log()}`);
      // The Unix socket is trusted even when TCP needs a token.
      const reply = await rawCall(this.unix, { op: "ping" });
      return reply && reply.redis === "ready";
    }, { timeout: 15000, what: "jobgate to be ready" });
  }

  log() {
    return fs.readFileSync(this.logPath, "utf8");
  }

  stop(signal = "SIGTERM") {
    return stopChild(this.proc, signal);
  }
}

/** A redis-server and one gateway (more with addGateway) in one temp directory. */
class Stack {
  static async start({ gatewayArgs = [] } = {}) {
    const stack = new Stack();
    try {
      await stack.redis.start();
      stack.gateway = await stack.addGateway(gatewayArgs);
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "jobgate-node-test-"));
    this.redis = new RedisServer(this.dir);
    this.gateways = [];
  }

  async addGateway(extraArgs = []) {
    const gateway = new Gateway(this.dir, this.redis.url, { extraArgs, name: `jobgate${this.gateways.length}` });
    this.gateways.push(gateway);
    return gateway.start();
  }

  async close() {
    for (const gateway of this.gateways) if (gateway.proc) await gateway.stop("SIGKILL");
    if (this.redis.proc) await stopChild(this.redis.proc, "SIGKILL");
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Stack for the tests of one file: started before them, closed after them. The object returned
 * holds `stack` and `client` (a Client over TCP) once the tests run.
 */
function useStack({ gatewayArgs = [] } = {}) {
  const shared = {};
  before(async () => {
    shared.stack = await Stack.start({ gatewayArgs });
    shared.client = new Client(shared.stack.gateway.tcpAddr);
  });
  after(async () => {
    await shared.client.close();
    await shared.stack.close();
  });
  return shared;
}

/** The error `promise` rejects with; fails the test if it resolves. */
function rejection(promise) {
  return promise.then((value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`), (err) => err);
}

let queueCounter = 0;
/** A queue name no other test in this process uses. */
function uniqueQueue(prefix = "q") {
  queueCounter += 1;
  return `${prefix}-${process.pid}-${queueCounter}`;
}

module.exports = { ROOT, Stack, useStack, rejection, Gateway, jobgateBinary, waitUntil, freePort, rawCall, spawnChild, stopChild, uniqueQueue };
