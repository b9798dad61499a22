"""Shortcuts for putting jobs into known states through the wire protocol."""


def enqueue(c, queue="q", func="app.work", **fields):
    return c.ok({"op": "enqueue", "queue": queue, "func": func, **fields})["id"]


def lease(c, queue="q", **fields):
    return c.ok({"op": "lease", "queues": [queue], **fields})["job"]


def fail_next(c, queue="q", error="boom"):
    """Leases the next job of `queue` and fails it for good; returns its id."""
    job = lease(c, queue)
    c.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "error": error, "retry": False})
    return job["id"]


def finish_next(c, queue="q", result=None, worker=None):
    job = lease(c, queue, **({"worker": worker} if worker else {}))
    c.ok({"op": "ack", "id": job["id"], "lease": job["lease"], "result": result})
    return job["id"]
