"""What the gateway's log says: refused requests at debug level, the ids of expired leases,
and startup lines that name each address once."""
import re

import pytest

from jobgate_harness import wait_until


@pytest.fixture
def debug_stack(stack_with):
    return stack_with("--log-level", "debug")


def log_lines(gateway, msg):
    return [line for line in gateway.read_log().splitlines() if f"msg={msg}" in line or f'msg="{msg}"' in line]


def test_a_refused_request_is_logged_with_peer_op_and_code(debug_stack):
    g = debug_stack.gateway
    with g.client() as c:
        peer = "127.0.0.1:%d" % c.sock.getsockname()[1]
        assert c.call({"op": "enqueue", "queue": "q", "func": ""})["ok"] is False
        assert c.call({"op": 1})["ok"] is False
        wait_until(lambda: len(log_lines(g, "request refused")) == 2, what="two refusals in the log")
    first, second = log_lines(g, "request refused")
    assert f"peer={peer}" in first and "op=enqueue" in first and "code=BAD_REQUEST" in first
    assert "func" in first and "non-empty" in first
    assert f"peer={peer}" in second and "code=BAD_REQUEST" in second and "must be a string" in second


def test_refusals_are_not_logged_at_info(stack, client):
    assert client.call({"op": "nope"})["error"]["code"] == "UNKNOWN_OP"
    client.ok({"op": "ping"})
    assert log_lines(stack.gateway, "request refused") == []


def test_expired_leases_are_named(stack, client):
    ids = [f"lost-{i}" for i in range(7)]
    client.ok({"op": "enqueue", "queue": "lost", "jobs": [{"func": "a.b", "id": i} for i in ids]})
    client.ok({"op": "lease", "queues": ["lost"], "count": 7, "lease_for": 1})
    wait_until(lambda: log_lines(stack.gateway, "leases expired"), what="the expiry log line")
    lines = log_lines(stack.gateway, "leases expired")
    named = set()
    total = 0
    for line in lines:
        count = int(re.search(r"count=(\d+)", line).group(1))
        listed = re.search(r'ids=("([^"]*)"|(\S+))', line)
        text = listed.group(2) if listed.group(2) is not None else listed.group(3)
        names = text.split(" (+")[0].split(",")
        more = re.search(r"\(\+(\d+) more\)", text)
        assert len(names) + (int(more.group(1)) if more else 0) == count, line
        assert len(names) <= 5, line
        named.update(names)
        total += count
    assert total == 7 and named <= set(ids) and len(named) >= 5


def test_startup_lines_name_each_address_once(stack):
    lines = stack.gateway.read_log().splitlines()
    assert any("msg=listening" in line for line in lines)
    for line in lines:
        values = re.findall(r'=("[^"]*"|\S+)', line)
        addresses = re.findall(r"(?:unix|tcp|tls|rediss?|sentinels?):[^\s\"]+", " ".join(values))
        assert len(addresses) == len(set(addresses)), line
