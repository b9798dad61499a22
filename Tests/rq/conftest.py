"""Fixtures for the RQ interop suite: real RQ 2.x processes against the same Redis as jobgate.

`stack` (Tests/conftest.py) gives a private redis-server and a jobgate gateway. On top of it:

- `r`: a redis-py client on the same Unix socket;
- `rqq(name)`: an RQ `Queue` using RQ's JSON serializer;
- `rqcli`: runs the real `rq worker` / `rq info` CLIs as subprocesses (with timeouts) and checks
  that the worker did not crash on jobgate's data;
- `dashboard`: a real `rq-dashboard` process bound to 127.0.0.1 on a free port.
"""
import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from rqinterop import Dashboard, RQCli


@pytest.fixture
def r(stack):
    client = redis.Redis(unix_socket_path=stack.redis.socket)
    yield client
    client.close()


@pytest.fixture
def rqq(r):
    def make(name):
        return Queue(name, connection=r, serializer=JSONSerializer)
    return make


@pytest.fixture
def rqcli(stack):
    cli = RQCli(stack)
    yield cli
    cli.close()


@pytest.fixture
def dashboard(stack):
    d = Dashboard(stack)
    yield d
    d.stop()
