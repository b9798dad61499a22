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


@pytest.fixture
def guarded():
    """A stack whose gateway wants the token s3cret on TCP."""
    s = Stack(gateway_args=["--token", "s3cret"])
    yield s
    s.close()


@pytest.fixture
def stack_with():
    """Makes stacks whose gateway takes extra arguments: `stack_with("--token", "s3cret")`."""
    made = []

    def make(*gateway_args):
        made.append(Stack(gateway_args=list(gateway_args)))
        return made[-1]
    yield make
    for s in made:
        s.close()
