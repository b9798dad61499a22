"""Every client-side event, per job, in one JSON-lines file and in memory for the checker."""
import json
import threading
import time


class EventLog:
    def __init__(self, path):
        self.path = path
        self.file = open(path, "w")
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.events = []

    def add(self, actor, event, job, **fields):
        record = {"t": round(time.monotonic() - self.started, 4), "actor": actor, "ev": event, "job": job, **fields}
        with self.lock:
            self.events.append(record)
            self.file.write(json.dumps(record) + "\n")

    def now(self):
        return round(time.monotonic() - self.started, 4)

    def close(self):
        with self.lock:
            self.file.close()

    def by_job(self):
        jobs = {}
        for e in self.events:
            jobs.setdefault(e["job"], []).append(e)
        return jobs
