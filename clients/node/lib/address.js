"use strict";
// Where a client connects: tcp://HOST:PORT, tls://HOST:PORT or unix:PATH.

const DEFAULT_ADDR = "tcp://127.0.0.1:7700";

function parseAddress(addr) {
  if (typeof addr !== "string") {
    throw new TypeError(`jobgate address must be a string, not ${typeof addr}`);
  }
  if (addr.startsWith("unix:") && addr.length > "unix:".length) {
    return { kind: "unix", path: addr.slice("unix:".length), text: addr };
  }
  const scheme = /^(tcp|tls):\/\/(.+):(\d{1,5})$/.exec(addr);
  if (scheme && Number(scheme[3]) <= 65535) {
    // [::1] is how a URL writes an IPv6 host; sockets want it bare.
    const host = scheme[2].replace(/^\[(.*)\]$/, "$1");
    return { kind: scheme[1], host, port: Number(scheme[3]), text: addr };
  }
  throw new TypeError(`bad jobgate address ${JSON.stringify(addr)}: want tcp://HOST:PORT, tls://HOST:PORT or unix:PATH`);
}

module.exports = { DEFAULT_ADDR, parseAddress };
