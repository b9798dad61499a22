"""Fixtures for the client tests."""
import pytest

from clients_under_test import jobgate


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
