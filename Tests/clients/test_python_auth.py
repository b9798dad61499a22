"""The Python client's token: sent as `auth` on every TCP connection, never over Unix sockets,
never shown in logs or errors. Against a real gateway started with --token."""
import logging

import pytest

from jobgate_harness import Stack
from clients_under_test import jobgate
from test_python_worker import run_a_job_longer_than_its_lease

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def token_stack():
    s = Stack(gateway_args=["--token", TOKEN])
    yield s
    s.close()


@pytest.fixture
def token_addr(token_stack):
    return f"tcp://127.0.0.1:{token_stack.gateway.port}"


def test_right_token_works_and_wrong_one_is_unauthorized(token_addr, caplog, monkeypatch):
    monkeypatch.delenv("JOBGATE_TOKEN", raising=False)
    caplog.set_level(logging.DEBUG, logger="jobgate")
    with jobgate.Client(token_addr, token=TOKEN) as c:
        assert c.enqueue("private", "a.b", id="after-auth")["state"] == "queued"
        assert TOKEN not in repr(c)

    with jobgate.Client(token_addr, token="guess") as c:
        with pytest.raises(jobgate.JobgateError) as e:
            c.ping()
        assert e.value.code == "UNAUTHORIZED" and e.value.retryable is False
        assert "guess" not in str(e.value) and "guess" not in repr(e.value.reply)

    with jobgate.Client(token_addr) as c:  # no token at all
        with pytest.raises(jobgate.JobgateError) as e:
            c.ping()
        assert e.value.code == "UNAUTHORIZED"
    assert TOKEN not in caplog.text and "guess" not in caplog.text


def test_token_from_the_environment(token_addr, monkeypatch):
    monkeypatch.setenv("JOBGATE_TOKEN", TOKEN)
    with jobgate.Client(token_addr) as c:
        assert c.ping()["redis"] == "ready"
    # An explicit empty token turns the environment's off.
    with jobgate.Client(token_addr, token="") as c:
        with pytest.raises(jobgate.JobgateError) as e:
            c.ping()
        assert e.value.code == "UNAUTHORIZED"


def test_unix_sockets_get_no_auth(token_stack, monkeypatch):
    # Sent over a Unix socket, this wrong token would be refused: it is not sent at all.
    monkeypatch.setenv("JOBGATE_TOKEN", "wrong")
    with jobgate.Client(f"unix:{token_stack.gateway.unix}") as c:
        assert c.ping()["redis"] == "ready"
        with jobgate.Client(f"unix:{token_stack.gateway.unix}", token="wrong") as c2:
            assert c2.stats()["queues"] == {}


def test_reconnect_authenticates_again(token_stack, token_addr):
    with jobgate.Client(token_addr, token=TOKEN) as c:
        c.enqueue("q", "f", id="before")
        token_stack.gateway.stop()
        token_stack.gateway.start()
        # The old connection was authenticated; the new one must be too.
        assert c.job("before")["state"] == "queued"
        assert c.enqueue("q", "f", id="after")["state"] == "queued"


def test_worker_heartbeat_connection_authenticates(token_addr, caplog):
    caplog.set_level(logging.DEBUG, logger="jobgate")
    with jobgate.Client(token_addr, token=TOKEN) as client:
        j = run_a_job_longer_than_its_lease(client)
        assert j["state"] == "finished" and j["attempts"] == 1
        assert client.stats()["gateway"]["lease_expiries"] == 0
    assert "heartbeat" not in caplog.text  # no refused or failed heartbeat was logged
    assert TOKEN not in caplog.text
