"""Fixtures for the client tests: the Python module under test and the shell clients' paths."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENTS = os.path.join(ROOT, "clients")
sys.path.insert(0, os.path.join(CLIENTS, "python"))

import jobgate  # noqa: E402  (needs the path above)

WORK = os.path.join(CLIENTS, "sh", "jobgate-work")
ENQUEUE = os.path.join(CLIENTS, "sh", "jobgate-enqueue")
EXAMPLES = os.path.join(CLIENTS, "examples")


@pytest.fixture
def addr(stack):
    return f"tcp://127.0.0.1:{stack.gateway.port}"


@pytest.fixture
def unix_addr(stack):
    return f"unix:{stack.gateway.unix}"


@pytest.fixture
def jg(addr):
    """The Python client under test, over TCP."""
    with jobgate.Client(addr) as c:
        yield c
