"""Jobs while they run: progress and meta from heartbeats (seen by RQ's own API), `stop` (of
jobgate leases and of jobs real RQ workers run), and RQ's stop and shutdown commands reaching
jobgate workers."""
import json

from rq.command import send_shutdown_command, send_stop_job_command

from jobgate_harness import wait_until
from rqinterop import fetch


def _leased(stack, queue="run", worker=None, **job):
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": queue, "func": "f", **job})
        request = {"op": "lease", "queues": [queue]}
        if worker:
            request["worker"] = worker
        return c.ok(request)["job"]


def test_heartbeat_progress_and_meta_are_the_jobs_meta_for_rq_too(stack, r):
    job = _leased(stack, meta={"owner": "ada"})
    with stack.client(unix=True) as c:
        first = c.ok({"op": "heartbeat", "id": job["id"], "lease": job["lease"], "meta": {"step": "resize"}})
        assert c.ok({"op": "job", "id": job["id"]})["job"]["meta"] == {"step": "resize"}
        # Progress only, with the expiry left alone (extend 0).
        same = c.ok({"op": "heartbeat", "id": job["id"], "lease": job["lease"], "progress": 40, "extend": 0})
        assert same["expires_at"] == first["expires_at"]
        assert c.ok({"op": "job", "id": job["id"]})["job"]["meta"] == {"step": "resize", "progress": 40}
        assert fetch(r, job["id"]).get_meta() == {"step": "resize", "progress": 40}
        bad = c.call({"op": "heartbeat", "id": job["id"], "lease": job["lease"], "progress": 101})
        assert bad["error"]["code"] == "BAD_REQUEST"
        c.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
        assert c.ok({"op": "result", "id": job["id"]})["job"]["meta"] == {"step": "resize", "progress": 40}


def test_stop_ends_the_job_and_its_holder_hears_stopped(stack, r):
    job = _leased(stack, retries=3)
    with stack.client(unix=True) as c:
        assert c.ok({"op": "stop", "id": job["id"]})["state"] == "stopped"
        for request in ({"op": "heartbeat"}, {"op": "ack"}, {"op": "fail", "error": "x"}, {"op": "release"}):
            reply = c.call({**request, "id": job["id"], "lease": job["lease"]})
            assert reply["error"]["code"] == "STOPPED", reply
        # Not retried, despite retries left: stopped, in the failed registry, as RQ keeps it.
        info = c.ok({"op": "job", "id": job["id"]})["job"]
        assert info["state"] == "stopped" and "stopped" in info["error"]
        assert fetch(r, job["id"]).get_status() == "stopped"
        assert [j["id"] for j in c.ok({"op": "failed", "queue": "run"})["jobs"]] == [job["id"]]
        assert c.ok({"op": "requeue", "id": job["id"]})["requeued"] == 1
        again = c.ok({"op": "lease", "queues": ["run"]})["job"]
        assert again["id"] == job["id"]
        assert c.ok({"op": "ack", "id": again["id"], "lease": again["lease"]})["state"] == "finished"


def test_stop_refuses_a_job_that_is_not_running(stack):
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "run", "func": "f", "id": "waiting"})
        assert c.call({"op": "stop", "id": "waiting"})["error"]["code"] == "WRONG_STATE"
        assert c.call({"op": "stop", "id": "nope"})["error"]["code"] == "NOT_FOUND"


def test_a_stopped_jobs_dependents_stay_deferred(stack):
    job = _leased(stack, id="parent")
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "run", "func": "f", "id": "child", "depends_on": "parent"})
        c.ok({"op": "stop", "id": "parent"})
        assert c.ok({"op": "job", "id": "child"})["job"]["state"] == "deferred"


def test_rq_stop_job_command_stops_a_named_jobgate_lease(stack, r):
    job = _leased(stack, worker="jg-worker-1")
    send_stop_job_command(r, job["id"])
    with stack.client(unix=True) as c:
        wait_until(lambda: c.ok({"op": "job", "id": job["id"]})["job"]["state"] == "stopped", what="the stop")
        assert c.call({"op": "heartbeat", "id": job["id"], "lease": job["lease"]})["error"]["code"] == "STOPPED"


def test_rq_3_stop_execution_command_stops_that_lease(stack, r):
    job = _leased(stack, worker="jg-worker-2")
    # RQ 3.0's send_stop_execution_command, byte for byte (the execution id is the lease).
    r.publish("rq:pubsub:jg-worker-2", json.dumps({"command": "stop-execution", "job_id": job["id"],
                                                   "execution_id": job["lease"]}))
    with stack.client(unix=True) as c:
        wait_until(lambda: c.ok({"op": "job", "id": job["id"]})["job"]["state"] == "stopped", what="the stop")


def test_rq_shutdown_command_reaches_a_jobgate_worker(stack, r):
    job = _leased(stack, worker="jg-worker-3")
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "run", "func": "f", "id": "next-one"})
        send_shutdown_command(r, "jg-worker-3")
        wait_until(lambda: c.ok({"op": "heartbeat", "id": job["id"], "lease": job["lease"]}).get("shutdown") is True,
                   what="the heartbeat to say shutdown")
        lease = c.ok({"op": "lease", "queues": ["run"], "worker": "jg-worker-3"})
        assert lease["job"] is None and lease["shutdown"] is True
        # Told once: the next lease is an ordinary one.
        assert c.ok({"op": "lease", "queues": ["run"], "worker": "jg-worker-3"})["job"]["id"] == "next-one"
        # Another worker's lease never hears it.
        assert "shutdown" not in c.ok({"op": "lease", "queues": ["run"], "worker": "jg-worker-4"})


def test_jobgate_stop_asks_a_real_rq_worker_to_stop_its_job(stack, r, rqq, rqcli):
    job = rqq("rqrun").enqueue("rqtasks.sleep_then_return", 60)
    worker = rqcli.start_worker("rqrun", name="rq-worker-stop")
    try:
        wait_until(lambda: fetch(r, job.id).get_status() == "started", timeout=30, what="the RQ worker to start the job")
        with stack.client(unix=True) as c:
            assert c.ok({"op": "stop", "id": job.id})["state"] == "stopping"
        wait_until(lambda: fetch(r, job.id).get_status() == "stopped", timeout=30, what="the RQ worker to stop it")
    finally:
        rqcli.kill(worker)
