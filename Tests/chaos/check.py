"""The invariants, proved from Redis's keys (RQ's layout) and the clients' event log once the
system is drained. Each violation names a job (or None for system-wide ones) and says what is
wrong."""
import base64
import zlib
from collections import Counter, defaultdict

import redis

# Where RQ keeps a job in each status: the list or registry under rq:<place>:<queue>.
PLACE_OF_STATUS = {"queued": "queue", "started": "wip", "scheduled": "scheduled", "finished": "finished",
                   "failed": "failed", "deferred": "deferred", "canceled": "canceled"}
FINAL = ("finished", "failed")
SETTLEMENTS = ("ack", "fail", "release", "heartbeat")


class RedisState:
    """Every job hash and every place a job id is listed, read once after the drain."""

    def __init__(self, socket_path):
        self.r = redis.Redis(unix_socket_path=socket_path, decode_responses=True)
        self.raw = redis.Redis(unix_socket_path=socket_path)
        self.queues = sorted(k.split(":", 2)[2] for k in self.r.smembers("rq:queues"))
        self.places = defaultdict(list)
        for q in self.queues:
            for job_id in self.r.lrange(f"rq:queue:{q}", 0, -1):
                self.places[job_id].append(("queue", q))
            for place in ("wip", "scheduled", "finished", "failed", "deferred", "canceled"):
                for member in self.r.zrange(f"rq:{place}:{q}", 0, -1):
                    self.places[member.split(":", 1)[0]].append((place, q))
        self.jobs = {}
        for key in self.r.scan_iter("rq:job:*", count=1000):
            if key.count(":") == 2:
                status, origin, attempts = self.r.hmget(key, "status", "origin", "jobgate_attempts")
                self.jobs[key[7:]] = {"status": status, "origin": origin, "attempts": int(attempts or 0)}

    def results(self, job_id):
        """The rq:results stream: (type, execution id) per ended execution."""
        return [(fields.get("type"), fields.get("execution_id"))
                for _, fields in self.r.xrange(f"rq:results:{job_id}")]

    def history(self, job_id):
        """The job's Redis side, for a violation report."""
        fields = self.raw.hgetall(f"rq:job:{job_id}")
        shown = {}
        for k, v in fields.items():
            k = k.decode()
            if k == "data":
                continue
            if k == "exc_info":
                v = zlib.decompress(v)
            shown[k] = v.decode(errors="replace")
        results = []
        for _, entry in self.r.xrange(f"rq:results:{job_id}"):
            if entry.get("return_value"):
                entry["return_value"] = base64.b64decode(entry["return_value"]).decode(errors="replace")
            entry.pop("exc_string", None)
            results.append(entry)
        return {"hash": shown, "places": self.places.get(job_id, []), "results": results}

    def key_counts(self, queue):
        return {"queued": self.r.llen(f"rq:queue:{queue}"), "started": self.r.zcard(f"rq:wip:{queue}"),
                "scheduled": self.r.zcard(f"rq:scheduled:{queue}"), "failed": self.r.zcard(f"rq:failed:{queue}"),
                "finished": self.r.zcard(f"rq:finished:{queue}")}


def check(state, events, stats):
    """Returns (violations, figures). `events` maps job id to its client events, `stats` is a
    gateway's `stats` reply taken after the drain."""
    violations = []

    def violation(job_id, text):
        violations.append((job_id, text))

    check_places(state, violation)
    check_counts(state, stats, violation)
    for job_id, history in events.items():
        if job_id is None:
            for e in history:
                if e["ev"] == "unexpected_error":
                    violation(None, f"unexpected error reply to {e['op']}: {e['error']}")
            continue
        check_job(state, job_id, history, violation)
    return violations


def check_places(state, violation):
    for job_id, places in state.places.items():
        if job_id not in state.jobs:
            violation(job_id, f"listed in {places} but has no job hash")
    for job_id, job in state.jobs.items():
        places = state.places.get(job_id, [])
        expected = [(PLACE_OF_STATUS.get(job["status"]), job["origin"])]
        if places != expected:
            violation(job_id, f"status {job['status']} in queue {job['origin']}, but found in {places or 'no place'}")
        if job["status"] not in FINAL:
            violation(job_id, f"status {job['status']} after the drain; every job should have finished or failed")


def check_counts(state, stats, violation):
    by_status = Counter((job["origin"], job["status"]) for job in state.jobs.values())
    for q in state.queues:
        from_keys = state.key_counts(q)
        reported = {k: stats["queues"].get(q, {}).get(k) for k in from_keys}
        if reported != from_keys:
            violation(None, f"stats for {q} say {reported}, the keys hold {from_keys}")
        from_hashes = {k: by_status[(q, status)] for k, status in
                       (("queued", "queued"), ("started", "started"), ("scheduled", "scheduled"),
                        ("failed", "failed"), ("finished", "finished"))}
        if from_hashes != from_keys:
            violation(None, f"job statuses in {q} count {from_hashes}, the keys hold {from_keys}")


def check_job(state, job_id, history, violation):
    job = state.jobs.get(job_id)
    kinds = Counter(e["ev"] for e in history)
    if kinds["enqueued"] and job is None:
        return violation(job_id, "the producer's enqueue was acknowledged but the job is gone")
    for e in history:
        if e["ev"] == "unexpected_error":
            violation(job_id, f"unexpected error reply to {e['op']}: {e['error']}")
    if job is None:
        if kinds["leased"]:
            violation(job_id, "leased by a client but the job is gone")
        return
    check_leases(job_id, history, violation)
    check_settlements(job_id, history, violation)
    check_outcome(state, job, job_id, history, violation)
    for e in history:
        if e["ev"] == "stalled" and job["attempts"] <= e["attempt"]:
            violation(job_id, f"its holder stopped at attempt {e['attempt']}, but the job never ran again")


def check_leases(job_id, history, violation):
    """Each lease token is granted once, and no two tokens share an attempt number."""
    leases = [e for e in history if e["ev"] == "leased"]
    tokens = Counter(e["lease"] for e in leases)
    attempts = Counter(e["attempt"] for e in leases)
    for token, n in tokens.items():
        if n > 1:
            violation(job_id, f"lease {token} was handed out {n} times")
    for attempt, n in attempts.items():
        if n > 1:
            violation(job_id, f"{n} clients held attempt {attempt} at once")


def check_settlements(job_id, history, violation):
    """A holder whose request was sent after the job was leased to someone else, or after its
    own lease was seen taken back, must be refused with LEASE_LOST."""
    leases = [e for e in history if e["ev"] == "leased"]
    attempt_of = {e["lease"]: e["attempt"] for e in leases}
    stale_since = {e["lease"]: e["t"] for e in history if e["ev"] == "stale_seen"}
    for e in history:
        op, _, outcome = e["ev"].rpartition("_")
        if op not in SETTLEMENTS or outcome != "ok":
            continue
        mine = attempt_of.get(e["lease"])
        later = [l for l in leases if l["lease"] != e["lease"] and mine is not None and l["attempt"] > mine
                 and l["t"] < e["sent_at"]]
        if later:
            violation(job_id, f"{op} with lease {e['lease']} (attempt {mine}) accepted although it was sent after "
                              f"attempt {later[0]['attempt']} was leased to {later[0]['actor']}")
        if e["lease"] in stale_since and stale_since[e["lease"]] < e["sent_at"]:
            violation(job_id, f"{op} with lease {e['lease']} accepted after the job was seen taken back")


def check_outcome(state, job, job_id, history, violation):
    """A finished job was finished by exactly one ack, the one its result names; acked and
    finally failed jobs are where their clients were told."""
    acks_ok = [e for e in history if e["ev"] == "ack_ok"]
    if len({e["lease"] for e in acks_ok}) > 1:
        violation(job_id, f"acked successfully by {len(acks_ok)} different leases")
    if acks_ok and job["status"] != "finished":
        violation(job_id, f"ack answered ok (lease {acks_ok[0]['lease']}) but the job is {job['status']}")
    failed_ok = [e for e in history if e["ev"] == "fail_ok" and e["state"] == "failed"]
    if failed_ok and job["status"] != "failed":
        violation(job_id, f"fail answered 'failed' but the job is {job['status']}")
    if job["status"] != "finished":
        return
    finishes = [execution for kind, execution in state.results(job_id) if kind == "1"]
    if len(finishes) != 1:
        return violation(job_id, f"finished {len(finishes)} times in rq:results")
    finisher = finishes[0]
    if acks_ok and acks_ok[0]["lease"] != finisher:
        violation(job_id, f"the ack answered ok was lease {acks_ok[0]['lease']}, but lease {finisher} finished it")
    if not acks_ok and not any(e["ev"] == "ack_unknown" and e["lease"] == finisher for e in history):
        violation(job_id, f"finished by lease {finisher}, which no client acked")
