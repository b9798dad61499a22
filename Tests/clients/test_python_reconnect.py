"""The Python client's reconnects, retries and timeouts, against a real gateway that stops,
restarts, is killed and is frozen (SIGSTOP)."""
import signal
import socket
import threading
import time

import pytest

from jobgate_harness import wait_until
from clients_under_test import jobgate


def in_thread(call):
    out = {}

    def run():
        try:
            out["value"] = call()
        except BaseException as e:  # handed to the test, which asserts on it
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_any_call_after_a_restart_goes_out_on_a_new_connection(stack, addr):
    with jobgate.Client(addr) as c:
        c.enqueue("q", "f", id="before")
        stack.gateway.stop()
        stack.gateway.start()
        # The gateway closed the idle connection when it stopped, so nothing can have been sent
        # on it: even enqueue, which is never sent twice, goes out once on a new connection.
        assert c.enqueue("q", "f", id="after")["state"] == "queued"
        assert [j["id"] for j in c.lease("q", count=5)] == ["before", "after"]


def test_refused_connections_are_retried_with_backoff_then_raise(stack, addr):
    stack.gateway.stop()
    with jobgate.Client(addr, retries=3, retry_backoff=0.1) as c:
        t0 = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            c.ping()
        assert time.monotonic() - t0 >= 0.1 + 0.2 + 0.4 - 0.05  # three waits, each twice as long
    with jobgate.Client(addr, retries=100, retry_backoff=0.05) as c:
        t, out = in_thread(lambda: c.enqueue("q", "f", id="while-down"))
        stack.gateway.start()
        t.join(30)
        assert out.get("value", out)["id"] == "while-down"


def test_a_broken_blocking_call_is_resent_only_when_idempotent(stack, addr):
    with jobgate.Client(addr) as c:
        c.enqueue("rpc", "f", id="call-1")
        leased = c.lease("rpc")  # started: the result below waits for its end
    waiting_lease = jobgate.Client(addr, retries=100, retry_backoff=0.05)
    waiting_result = jobgate.Client(addr, retries=100, retry_backoff=0.05)
    lease_thread, lease_out = in_thread(lambda: waiting_lease.lease("empty", wait=30))
    result_thread, result_out = in_thread(lambda: waiting_result.result("call-1", wait=30))
    with jobgate.Client(addr) as c:
        wait_until(lambda: c.stats()["gateway"]["waiting_leases"] == 1, what="the lease to wait")
        wait_until(lambda: c.stats()["gateway"]["ops"].get("result", 0) == 1,
                   what="the result to wait")
    stack.gateway.stop(signal.SIGKILL)
    # A lease whose reply was lost may have taken a job: it is raised, not sent again.
    lease_thread.join(10)
    assert isinstance(lease_out.get("error"), ConnectionError), lease_out
    stack.gateway.start()
    with jobgate.Client(addr) as c:
        wait_until(lambda: c.stats()["gateway"]["ops"].get("result", 0) == 1,
                   what="the result to be sent again to the new gateway")
        c.ack(leased, result="pong")
    result_thread.join(10)
    assert result_out["value"]["done"] is True, result_out
    assert result_out["value"]["job"]["result"] == "pong"
    waiting_lease.close()
    waiting_result.close()


def test_a_call_that_times_out_raises_and_is_not_resent(stack, addr):
    with jobgate.Client(addr, timeout=0.5, retries=5) as c:
        c.enqueue("q", "f", id="frozen")
        stack.gateway.proc.send_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            with pytest.raises(socket.timeout):
                c.job("frozen")  # idempotent, but a timeout is never retried
            assert 0.45 <= time.monotonic() - t0 < 1.5
        finally:
            stack.gateway.proc.send_signal(signal.SIGCONT)
        assert c.job("frozen")["state"] == "queued"  # a new connection
