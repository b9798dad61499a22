import pytest

from jobgate_harness import Stack


@pytest.fixture
def stack():
    s = Stack()
    yield s
    s.close()


@pytest.fixture
def client(stack):
    with stack.client() as c:
        yield c
