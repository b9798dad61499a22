/// The console's script: hash routes (#/, #/queue/Q/STATE/PAGE/ORDER, #/job/ID), each view polled
/// every 1.5 s through the JSON API. Text only goes into the page as text (never as HTML).
let consoleScript = #"""
"use strict";
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const readOnly = document.querySelector('meta[name="read-only"]').content === "true";
const main = document.getElementById("main");
const STATES = ["queued", "started", "scheduled", "deferred", "failed", "finished", "canceled"];
const PAGE_SIZE = 50;
let pollTimer = null;
let generation = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function reply(response) {
  if (response.status === 401) { location.reload(); return new Promise(() => {}); }
  try { return await response.json(); }
  catch (e) { return {ok: false, error: {code: "HTTP_" + response.status, message: response.statusText}}; }
}

async function read(op, params) {
  const query = new URLSearchParams(params || {}).toString();
  return reply(await fetch("/api/" + op + (query ? "?" + query : ""), {cache: "no-store"}));
}

async function act(request, confirmText) {
  if (confirmText && !confirm(confirmText)) return;
  let answer;
  try {
    answer = await reply(await fetch("/api/op", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken}, body: JSON.stringify(request)}));
  } catch (e) { answer = {ok: false, error: {code: "NETWORK", message: String(e)}}; }
  say(answer.ok ? describe(request, answer) : errorText(answer), !answer.ok);
  refresh();
  return answer;
}

function describe(request, answer) {
  const what = request.id || request.queue;
  if ("requeued" in answer) return `${what}: requeued ${answer.requeued}, ${answer.still_failed} still failed`;
  if ("deleted" in answer) return `${what}: deleted ${answer.deleted} jobs`;
  if ("paused" in answer) return `${what}: ${answer.paused ? "paused" : "resumed"}`;
  if ("state" in answer) return `${what}: ${answer.state}`;
  return `${what}: ${request.op} done`;
}

function errorText(answer) { return `${answer.error.code}: ${answer.error.message}`; }

function say(text, isError) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = isError ? "error" : "notice";
}

function button(label, request, confirmText) {
  return readOnly ? null : el("button", {type: "button", "data-action": request.op, onclick: () => act(request, confirmText)}, label);
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return Math.round(seconds) + "s";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m " + Math.round(seconds % 60) + "s";
  if (seconds < 86400) return Math.floor(seconds / 3600) + "h " + Math.floor(seconds % 3600 / 60) + "m";
  return Math.floor(seconds / 86400) + "d " + Math.floor(seconds % 86400 / 3600) + "h";
}

function time(text) { return text ? text.replace("T", " ").replace(/\.\d+Z$/, "Z") : "–"; }
function count(value) { return value === undefined || value === null ? "–" : String(value); }
function lastLine(text) { return text ? text.trimEnd().split("\n").pop() : ""; }
function limitsText(limits) {
  if (!limits || typeof limits !== "object" || Object.keys(limits).length === 0) return "–";
  return Object.entries(limits).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
}

function queueHref(queue, state, offset, order) {
  return `#/queue/${encodeURIComponent(queue)}/${state}/${offset || 0}/${order || "oldest"}`;
}

function queueLink(queue, state, label) { return el("a", {href: queueHref(queue, state)}, label); }

function showGateway(stats) {
  const gateway = stats.gateway || {};
  document.getElementById("gateway").textContent =
    `v${gateway.version || "?"} · up ${age(gateway.uptime_seconds)} · ${count(gateway.connections)} connections · redis ${gateway.redis || "?"}`;
}

async function queuesView() {
  const stats = await read("stats");
  if (!stats.ok) return [el("p", {class: "error"}, errorText(stats))];
  showGateway(stats);
  const names = Object.keys(stats.queues).sort();
  if (names.length === 0) return [el("p", {class: "muted"}, "No queues yet: enqueue a job and it shows up here.")];
  const rows = names.map(name => {
    const q = stats.queues[name];
    return el("tr", {"data-queue": name},
      el("th", {scope: "row"}, queueLink(name, "queued", name)),
      STATES.map(state => el("td", {class: "num", "data-count": state}, q[state] ? queueLink(name, state, String(q[state])) : count(q[state]))),
      el("td", {class: "num", "data-count": "oldest"}, age(q.oldest_queued_seconds)),
      el("td", {"data-count": "paused"}, q.paused ? el("span", {class: "badge"}, "paused") : "no"),
      el("td", {}, limitsText(q.limits)),
      readOnly ? null : el("td", {}, el("div", {class: "actions"},
        q.paused ? button("Resume", {op: "resume", queue: name}) : button("Pause", {op: "pause", queue: name}),
        q.failed ? button("Requeue failed", {op: "requeue", queue: name, all: true}) : null,
        q.queued ? button("Empty", {op: "empty", queue: name}, `Delete the ${q.queued} queued jobs of ${name}?`) : null)));
  });
  return [el("table", {id: "queues"},
    el("thead", {}, el("tr", {}, el("th", {}, "Queue"), STATES.map(s => el("th", {class: "num"}, s)),
      el("th", {class: "num"}, "oldest queued"), el("th", {}, "paused"), el("th", {}, "limits"), readOnly ? null : el("th", {}, "actions"))),
    el("tbody", {}, rows))];
}

function jobActions(job) {
  const actions = [];
  if (job.state === "failed") actions.push(button("Requeue", {op: "requeue", id: job.id}));
  if (["queued", "scheduled", "deferred"].includes(job.state)) actions.push(button("Cancel", {op: "cancel", id: job.id}));
  if (job.state === "started") actions.push(button("Stop", {op: "stop", id: job.id}, `Stop job ${job.id} while it runs?`));
  actions.push(button("Delete", {op: "delete", id: job.id}, `Delete job ${job.id} and everything about it?`));
  return actions;
}

async function jobPage(queue, state, offset, order) {
  const params = {queue, state, offset, limit: PAGE_SIZE, order};
  const answer = await read("jobs", params);
  // Before the gateway had `jobs`, only failed jobs could be listed (with `failed`).
  if (!answer.ok && answer.error.code === "UNKNOWN_OP" && state === "failed") {
    return read("failed", {queue, offset, limit: PAGE_SIZE});
  }
  return answer;
}

// Where the next page starts: a page ends early once it holds max_page_bytes of jobs (gateways
// before next_offset always filled it).
function nextOffset(answer, offset) {
  if (answer.next_offset !== undefined) return answer.next_offset;
  return offset + PAGE_SIZE < answer.total ? offset + PAGE_SIZE : null;
}

async function queueView(queue, state, offset, order) {
  const [answer, stats] = await Promise.all([jobPage(queue, state, offset, order), read("stats")]);
  const counts = stats.ok ? stats.queues[queue] || {} : {};
  if (stats.ok) showGateway(stats);
  const tabs = el("nav", {class: "tabs"}, STATES.map(s => el("a", {href: queueHref(queue, s, 0, order), class: s === state ? "current" : null},
    s, counts[s] === undefined ? null : el("span", {class: "count"}, String(counts[s])))));
  const heading = el("h2", {}, el("a", {href: "#/"}, "queues"), " / ", queue, counts.paused ? el("span", {class: "badge"}, "paused") : null);
  if (!answer.ok) return [heading, tabs, el("p", {class: "error"}, errorText(answer))];
  const next = nextOffset(answer, offset);
  const bulk = readOnly ? null : el("div", {class: "actions"},
    state === "failed" && answer.total ? button("Requeue all failed", {op: "requeue", queue, all: true}) : null,
    state === "queued" && answer.total ? button("Empty queue", {op: "empty", queue}, `Delete every queued job of ${queue}?`) : null);
  const pager = el("div", {class: "pager"},
    `${answer.total === 0 ? 0 : offset + 1}–${next === null ? answer.total : next} of ${answer.total}`,
    offset > 0 ? el("a", {href: queueHref(queue, state, Math.max(0, offset - PAGE_SIZE), order)}, "‹ previous") : null,
    next !== null ? el("a", {href: queueHref(queue, state, next, order)}, "next ›") : null,
    el("a", {href: queueHref(queue, state, 0, order === "oldest" ? "newest" : "oldest"), id: "order"},
      order === "oldest" ? "oldest first (show newest)" : "newest first (show oldest)"));
  const rows = answer.jobs.map(job => el("tr", {"data-job": job.id},
    el("td", {}, el("a", {href: "#/job/" + encodeURIComponent(job.id)}, job.id)),
    el("td", {}, job.func || "–"),
    el("td", {class: "time"}, time(job.enqueued_at)), el("td", {class: "time"}, time(job.started_at)), el("td", {class: "time"}, time(job.ended_at)),
    el("td", {class: "num"}, count(job.attempts)), el("td", {}, job.worker || "–"),
    state === "failed" ? el("td", {class: "error-line"}, lastLine(job.error)) : null,
    readOnly ? null : el("td", {}, el("div", {class: "actions"}, jobActions(job)))));
  return [heading, tabs, bulk, pager, el("table", {id: "jobs"},
    el("thead", {}, el("tr", {}, ["id", "function", "enqueued", "started", "ended", "attempts", "worker"].map(h => el("th", {}, h)),
      state === "failed" ? el("th", {}, "last error") : null, readOnly ? null : el("th", {}, "actions"))),
    el("tbody", {}, rows))];
}

function json(value) { return el("pre", {}, JSON.stringify(value, null, 2)); }

async function jobView(id) {
  const answer = await read("job", {id});
  const heading = el("h2", {}, el("a", {href: "#/"}, "queues"), " / job ", id);
  if (!answer.ok) return [heading, el("p", {class: "error"}, errorText(answer))];
  const job = answer.job;
  const fields = ["queue", "state", "func", "description", "created_at", "enqueued_at", "started_at", "ended_at", "last_heartbeat",
    "attempts", "retries_left", "timeout", "result_ttl", "failure_ttl", "worker"];
  return [heading, readOnly ? null : el("div", {class: "actions"}, jobActions(job)),
    el("dl", {id: "job"}, fields.map(f => [el("dt", {}, f), el("dd", {"data-field": f},
      f === "queue" ? queueLink(job.queue, job.state, job.queue) : f.endsWith("_at") || f === "last_heartbeat" ? time(job[f]) : count(job[f]))])),
    el("h3", {}, "args"), json(job.args), el("h3", {}, "kwargs"), json(job.kwargs), el("h3", {}, "meta"), json(job.meta),
    job.error ? [el("h3", {}, "error"), el("pre", {class: "error", id: "job-error"}, job.error)] : [el("h3", {}, "result"), json(job.result)]];
}

function currentView() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "queue" && parts[1]) {
    return () => queueView(parts[1], STATES.includes(parts[2]) ? parts[2] : "queued", Math.max(0, parseInt(parts[3], 10) || 0),
      parts[4] === "newest" ? "newest" : "oldest");
  }
  if (parts[0] === "job" && parts[1]) return () => jobView(parts[1]);
  return queuesView;
}

async function refresh() {
  clearTimeout(pollTimer);
  const mine = ++generation;
  let content;
  try { content = await currentView()(); }
  catch (e) { content = [el("p", {class: "error"}, "The gateway did not answer: " + e)]; }
  if (mine !== generation) return;
  // Unchanged views are left alone, so a selection or a hovered button survives a poll.
  const next = el("div", {}, content);
  if (next.innerHTML !== main.innerHTML) main.replaceChildren(...next.childNodes);
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  pollTimer = setTimeout(refresh, 1500);
}

window.addEventListener("hashchange", () => { say("", false); refresh(); });
refresh();
"""#
