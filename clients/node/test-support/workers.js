"use strict";
const { Worker } = require("..");

/** A Worker on the stack's gateway for `queue`, leasing with a short wait; its warnings are kept in `worker.warnings`. */
function newWorker(env, queue, handlers, options = {}) {
  const worker = new Worker({ addr: env.stack.gateway.tcpAddr, queues: [queue], handlers, wait: 1, ...options });
  worker.warnings = [];
  worker.on("warning", (message) => worker.warnings.push(message));
  return worker;
}

module.exports = { newWorker };
