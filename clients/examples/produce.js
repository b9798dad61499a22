#!/usr/bin/env node
// Enqueue one job: one JSON line out, one JSON line back. Usage: node produce.js [QUEUE]
const net = require("net");

const addr = process.env.JOBGATE_ADDR || "tcp://127.0.0.1:7700";
const target = addr.startsWith("unix:")
  ? { path: addr.slice("unix:".length) }
  : { host: addr.slice("tcp://".length, addr.lastIndexOf(":")), port: Number(addr.slice(addr.lastIndexOf(":") + 1)) };

const request = {
  op: "enqueue", queue: process.argv[2] || "emails", func: "mail.send",
  args: ["ada@example.com"], kwargs: { lang: "node" },
};

const sock = net.createConnection(target, () => sock.write(JSON.stringify(request) + "\n"));
let buf = "";
sock.setEncoding("utf8");
sock.on("data", (chunk) => {
  buf += chunk;
  const nl = buf.indexOf("\n");       // the reply is exactly one line
  if (nl < 0) return;
  sock.end();
  const reply = JSON.parse(buf.slice(0, nl));
  if (!reply.ok) {
    console.error(`${reply.error.code}: ${reply.error.message}`);
    process.exitCode = 1;
  } else {
    console.log(reply.id);
  }
});
sock.on("error", (err) => { console.error(err.message); process.exitCode = 1; });
