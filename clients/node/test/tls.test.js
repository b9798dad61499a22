"use strict";
// tls:// addresses: against a real gateway serving TLS (when its binary has --tls-cert), and the
// handshake itself (SNI, hostname check) against a TLS listener that records what the client sent.
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const tls = require("node:tls");
const { after, before, describe, test } = require("node:test");
const { Client, ConnectionError } = require("..");
const { makeCa, makeServerCert } = require("../test-support/certs");
const { freePort, jobgateBinary, rejection, uniqueQueue, useStack } = require("../test-support/stack");

const TOKEN = "tls-token-123";
const gatewayHasTls = (() => {
  try {
    return execFileSync(jobgateBinary(), ["serve", "--help"], { encoding: "utf8" }).includes("--tls-cert");
  } catch {
    return false;
  }
})();

const env = useStack({ gatewayArgs: ["--token", TOKEN] });
const certs = fs.mkdtempSync(path.join(os.tmpdir(), "jobgate-node-certs-"));
after(() => fs.rmSync(certs, { recursive: true, force: true }));
const ca = makeCa(certs);
const serverCert = makeServerCert(certs, "server", "IP:127.0.0.1,DNS:localhost");
const otherNameCert = makeServerCert(certs, "other", "DNS:other.example");

describe("a gateway serving TLS", { skip: !gatewayHasTls && `${jobgateBinary()} has no --tls-cert yet` }, () => {
  let port;
  before(async () => {
    port = await freePort();
    await env.stack.addGateway(["--token", TOKEN, "--listen", `tls://127.0.0.1:${port}`, "--tls-cert", serverCert.cert, "--tls-key", serverCert.key]);
  });

  test("with the CA, a tls:// client authenticates and speaks the protocol, by IP or by name", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const client = new Client(`tls://${host}:${port}`, { tlsCa: ca, token: TOKEN });
      const { id } = await client.enqueue(uniqueQueue(), "over.tls");
      assert.equal((await client.job(id)).func, "over.tls");
      await client.close();
    }
  });

  test("the CA and token default to JOBGATE_TLS_CA and JOBGATE_TOKEN", async () => {
    Object.assign(process.env, { JOBGATE_TLS_CA: ca, JOBGATE_TOKEN: TOKEN });
    try {
      const client = new Client(`tls://127.0.0.1:${port}`);
      assert.equal((await client.ping()).redis, "ready");
      await client.close();
    } finally {
      delete process.env.JOBGATE_TLS_CA;
      delete process.env.JOBGATE_TOKEN;
    }
  });

  test("a wrong token over TLS rejects UNAUTHORIZED", async () => {
    const err = await rejection(new Client(`tls://127.0.0.1:${port}`, { tlsCa: ca, token: "wrong" }).ping());
    assert.equal(err.code, "UNAUTHORIZED");
  });

  test("without the CA the gateway's certificate is refused", async () => {
    const err = await rejection(new Client(`tls://127.0.0.1:${port}`, { token: TOKEN, tlsCa: "" }).ping());
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match(err.message, /certificate/);
  });
});

describe("the TLS handshake", () => {
  // Without SNI this listener shows a certificate for other.example; asked for localhost, it shows
  // one for localhost and 127.0.0.1. It records the names clients ask for.
  let server;
  let port;
  const asked = [];
  before(async () => {
    const context = ({ cert, key }) => tls.createSecureContext({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
    server = tls.createServer({
      cert: fs.readFileSync(otherNameCert.cert),
      key: fs.readFileSync(otherNameCert.key),
      SNICallback: (name, done) => {
        asked.push(name);
        done(null, context(name === "localhost" ? serverCert : otherNameCert));
      },
    }, (socket) => {
      socket.on("data", () => socket.write('{"ok":true,"redis":"ready"}\n'));
      socket.on("error", () => {});
    });
    port = await freePort();
    await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  test("SNI names the host, and the certificate for that name is accepted", async () => {
    asked.length = 0;
    const client = new Client(`tls://localhost:${port}`, { tlsCa: ca, token: "" });
    assert.equal((await client.ping()).redis, "ready");
    await client.close();
    assert.deepEqual(asked, ["localhost"]);
  });

  test("an IP address sends no SNI, and a certificate for another name is refused", async () => {
    asked.length = 0;
    const err = await rejection(new Client(`tls://127.0.0.1:${port}`, { tlsCa: ca, token: "" }).ping());
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match(err.message, /IP: 127\.0\.0\.1 is not in the cert's list/);
    assert.deepEqual(asked, []);
  });

  test("an unreadable CA file is refused when the client is made", () => {
    assert.throws(() => new Client(`tls://127.0.0.1:${port}`, { tlsCa: path.join(certs, "missing.pem") }),
      /cannot read the TLS CA file .*missing\.pem/);
  });
});
