"""The fault schedule, drawn up front from the seed, and the thread that injects it. One fault
at a time; each ends with the system whole again before the next gap."""
import threading
import time

from cluster import GATEWAYS

KINDS = ("gateway_kill", "redis_pause", "redis_kill")


def schedule(rng, duration):
    """[(start second, kind, parameters)] for a run of `duration` seconds."""
    plan = []
    t = rng.uniform(2, 4)
    kinds = []
    while t < duration - 3:
        if not kinds:
            # Every kind once per round, in a random order, so even a short run sees them all.
            kinds = rng.sample(KINDS, len(KINDS))
        kind = kinds.pop()
        if kind == "gateway_kill":
            params = {"gateway": rng.randrange(GATEWAYS), "down": round(rng.uniform(0.2, 2.0), 2)}
            length = params["down"] + 1
        elif kind == "redis_pause":
            params = {"seconds": round(rng.uniform(1.0, 4.0), 2)}
            length = params["seconds"]
        else:
            params = {"down": round(rng.uniform(0.2, 1.5), 2)}
            length = params["down"] + 1
        plan.append((round(t, 2), kind, params))
        t += length + rng.uniform(2, 6)
    return plan


class Injector(threading.Thread):
    def __init__(self, cluster, plan, log):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.plan = plan
        self.log = log
        self.stopped = threading.Event()
        self.done = []
        self.error = None

    def run(self):
        started = time.monotonic()
        try:
            for at, kind, params in self.plan:
                if self.stopped.wait(max(0.0, started + at - time.monotonic())):
                    return
                self.log.add("faults", kind, None, **params)
                self.inject(kind, params)
                self.done.append((at, kind, params))
        except Exception as e:  # reported by the runner: a fault that cannot be injected voids the run
            self.error = e

    def inject(self, kind, params):
        if kind == "gateway_kill":
            self.cluster.kill_gateway(params["gateway"], params["down"])
        elif kind == "redis_pause":
            self.cluster.pause_redis(params["seconds"])
        else:
            self.cluster.kill_redis(params["down"])

    def stop(self):
        self.stopped.set()
        self.join()
