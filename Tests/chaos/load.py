"""The load: producers that enqueue with their own ids and retry until answered, workers that
ack, fail, release, heartbeat long jobs or stall, and clients that vanish mid-request. Every
outcome a client sees is logged per job."""
import random
import threading
import time

from link import Link, Unknown, abandon, code, encode

QUEUES = ["chaos-urgent", "chaos-bulk"]
LEASE_SECONDS = 3
GIVE_UP_AFTER = 120  # seconds a client keeps retrying one request through faults


class Load:
    def __init__(self, cluster, log, seed, producers=3, workers=6):
        self.cluster = cluster
        self.log = log
        self.producing = threading.Event()
        self.working = threading.Event()
        self.draining = threading.Event()
        self.producing.set()
        self.working.set()
        self.threads = []
        self.stalls = []
        self.stalls_lock = threading.Lock()
        seeds = random.Random(seed)
        self.producers = [threading.Thread(target=self.produce, args=(f"p{i}", seeds.getrandbits(64)), daemon=True)
                          for i in range(producers)]
        self.workers = [threading.Thread(target=self.work, args=(f"w{i}", seeds.getrandbits(64)), daemon=True)
                        for i in range(workers)]
        self.vanisher = threading.Thread(target=self.vanish, args=("v0", seeds.getrandbits(64)), daemon=True)

    def start(self):
        for t in self.producers + self.workers + [self.vanisher]:
            t.start()

    def stop_producing(self):
        """Producers stop starting new jobs and finish the enqueues they have in flight."""
        self.producing.clear()
        for t in self.producers + [self.vanisher]:
            t.join(GIVE_UP_AFTER + 30)

    def drain(self):
        """From now on workers only ack, so the queues empty."""
        self.draining.set()

    def stop(self):
        self.working.clear()
        for t in self.workers:
            t.join(GIVE_UP_AFTER + 30)
        with self.stalls_lock:
            stalls = list(self.stalls)
        for t in stalls:
            t.join(GIVE_UP_AFTER + 60)

    # Producers

    def produce(self, actor, seed):
        rng = random.Random(seed)
        link = Link(self.cluster, rng)
        n = 0
        while self.producing.is_set():
            time.sleep(rng.uniform(0.02, 0.12))
            if rng.random() < 0.15:
                items = [self.job_spec(actor, n + i, rng) for i in range(rng.randint(2, 6))]
                n += len(items)
                self.enqueue(actor, link, {"op": "enqueue", "queue": QUEUES[1], "jobs": items}, items)
            else:
                spec = self.job_spec(actor, n, rng)
                n += 1
                self.enqueue(actor, link, {"op": "enqueue", **spec}, [spec])
        link.close()

    @staticmethod
    def job_spec(actor, n, rng):
        spec = {"id": f"{actor}-{n}", "queue": rng.choice(QUEUES), "func": "chaos.work", "args": [n], "result_ttl": 3600}
        if rng.random() < 0.15:
            spec["delay"] = round(rng.uniform(0.5, 3), 2)
        if rng.random() < 0.35:
            spec["retries"] = rng.randint(1, 3)
            spec["retry_intervals"] = rng.choice([0, 1, [0, 1], [1, 2]])
        if rng.random() < 0.1:
            spec["at_front"] = True
        return spec

    def enqueue(self, actor, link, request, items):
        """Sends until answered. A DUPLICATE means an earlier try whose reply was lost took effect."""
        options = {i["id"]: {k: v for k, v in i.items() if k in ("queue", "delay", "retries", "retry_intervals")} for i in items}
        for i in items:
            self.log.add(actor, "enqueue_sent", i["id"], batch="jobs" in request, **options[i["id"]])
        deadline = time.monotonic() + GIVE_UP_AFTER
        while True:
            try:
                reply = link.call(request)
                break
            except Unknown as e:
                for i in items:
                    self.log.add(actor, "enqueue_unknown", i["id"], reason=str(e))
                if time.monotonic() > deadline:
                    return
                time.sleep(0.1)
        answers = reply["jobs"] if "jobs" in request and reply.get("ok") else [reply]
        for item, answer in zip(items, answers):
            if answer.get("ok"):
                self.log.add(actor, "enqueued", item["id"], state=answer["state"])
            elif code(answer) == "DUPLICATE":
                self.log.add(actor, "enqueued", item["id"], state="duplicate")
            else:
                self.log.add(actor, "unexpected_error", item["id"], op="enqueue", error=answer["error"])

    # Workers

    def work(self, actor, seed):
        rng = random.Random(seed)
        link = Link(self.cluster, rng)
        while self.working.is_set():
            request = {"op": "lease", "queues": QUEUES, "wait": 1, "lease_for": LEASE_SECONDS, "worker": actor}
            if rng.random() < 0.3:
                request["count"] = rng.randint(2, 5)
            try:
                reply = link.call(request, extra_timeout=1)
            except Unknown:
                time.sleep(0.05)
                continue
            if not reply.get("ok"):
                self.log.add(actor, "unexpected_error", None, op="lease", error=reply["error"])
                continue
            jobs = reply["jobs"] if "count" in request else [reply["job"]] if reply["job"] else []
            for job in jobs:
                self.log.add(actor, "leased", job["id"], lease=job["lease"], attempt=job["attempt"],
                             retries_left=job["retries_left"])
            for job in jobs:
                self.handle(actor, link, rng, job)
        link.close()

    def handle(self, actor, link, rng, job):
        time.sleep(rng.uniform(0, 0.02))
        roll = 0.0 if self.draining.is_set() else rng.random()
        if roll < 0.62:
            self.settle(actor, link, job, "ack", result={"lease": job["lease"], "by": actor})
        elif roll < 0.74:
            self.settle(actor, link, job, "fail", error=f"chaos: attempt {job['attempt']} failed")
        elif roll < 0.78:
            self.settle(actor, link, job, "fail", error="chaos: fatal", retry=False)
        elif roll < 0.86:
            delay = rng.choice([None, round(rng.uniform(0.3, 1.0), 2)])
            self.settle(actor, link, job, "release", **({"delay": delay} if delay else {}))
        elif roll < 0.96 or job["retries_left"] < 1:
            if self.heartbeat_through(actor, link, job, LEASE_SECONDS * 1.5):
                self.settle(actor, link, job, "ack", result={"lease": job["lease"], "by": actor})
        else:
            self.stall(actor, job, rng.getrandbits(64))

    def settle(self, actor, link, job, op, **fields):
        """ack, fail or release, sent again while its fate is unknown (then LEASE_LOST means the
        earlier try took effect)."""
        request = {"op": op, "id": job["id"], "lease": job["lease"], **fields}
        deadline = time.monotonic() + GIVE_UP_AFTER
        while True:
            sent_at = self.log.now()
            try:
                reply = link.call(request)
            except Unknown as e:
                self.log.add(actor, f"{op}_unknown", job["id"], lease=job["lease"], sent_at=sent_at, reason=str(e))
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.1)
                continue
            if reply.get("ok"):
                self.log.add(actor, f"{op}_ok", job["id"], lease=job["lease"], sent_at=sent_at, state=reply["state"],
                             **({"retry": fields["retry"]} if "retry" in fields else {}))
            elif code(reply) == "LEASE_LOST":
                self.log.add(actor, f"{op}_lost", job["id"], lease=job["lease"], sent_at=sent_at)
            else:
                self.log.add(actor, "unexpected_error", job["id"], op=op, lease=job["lease"], error=reply["error"])
            return reply

    def heartbeat_through(self, actor, link, job, seconds):
        """Works `seconds`, longer than the lease, extending it a few times. False when the lease was lost."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(min(LEASE_SECONDS / 3, max(0.0, end - time.monotonic())))
            sent_at = self.log.now()
            try:
                reply = link.call({"op": "heartbeat", "id": job["id"], "lease": job["lease"]})
            except Unknown as e:
                self.log.add(actor, "heartbeat_unknown", job["id"], lease=job["lease"], sent_at=sent_at, reason=str(e))
                continue
            if code(reply) == "LEASE_LOST":
                self.log.add(actor, "heartbeat_lost", job["id"], lease=job["lease"], sent_at=sent_at)
                return False
            if not reply.get("ok"):
                self.log.add(actor, "unexpected_error", job["id"], op="heartbeat", lease=job["lease"], error=reply["error"])
                return False
            self.log.add(actor, "heartbeat_ok", job["id"], lease=job["lease"], sent_at=sent_at)
        return True

    def stall(self, actor, job, seed):
        """A holder that stops heartbeating: once the job has been taken back, its ack must be refused."""
        self.log.add(actor, "stalled", job["id"], lease=job["lease"], attempt=job["attempt"])
        t = threading.Thread(target=self.wake_stale, args=(f"{actor}-stale", job, seed), daemon=True)
        with self.stalls_lock:
            self.stalls.append(t)
        t.start()

    def wake_stale(self, actor, job, seed):
        link = Link(self.cluster, random.Random(seed))
        deadline = time.monotonic() + GIVE_UP_AFTER
        while time.monotonic() < deadline:
            time.sleep(0.25)
            try:
                seen = link.call({"op": "job", "id": job["id"]})
            except Unknown:
                continue
            state = seen["job"]["state"] if seen.get("ok") else None
            if seen.get("ok") and (seen["job"]["attempts"] > job["attempt"] or state != "started"):
                self.log.add(actor, "stale_seen", job["id"], lease=job["lease"], state=state,
                             attempts=seen["job"]["attempts"])
                self.settle(actor, link, job, "ack", result={"lease": job["lease"], "by": actor})
                break
        link.close()

    # Clients that vanish mid-request

    def vanish(self, actor, seed):
        rng = random.Random(seed)
        n = 0
        while self.producing.is_set():
            time.sleep(rng.uniform(0.3, 1.0))
            kind = rng.choice(["enqueue", "enqueue_cut", "lease"])
            if kind == "lease":
                line = encode({"op": "lease", "queues": QUEUES, "wait": 2, "lease_for": 2})
                self.log.add(actor, "lease_abandoned", None)
            else:
                job_id = f"{actor}-{n}"
                n += 1
                line = encode({"op": "enqueue", "queue": rng.choice(QUEUES), "func": "chaos.work", "id": job_id,
                               "result_ttl": 3600})
                if kind == "enqueue_cut":
                    line = line[:rng.randint(1, len(line) - 2)]
                self.log.add(actor, f"{kind}_abandoned", job_id)
            abandon(self.cluster, rng, line)
