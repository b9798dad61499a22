"""Fixtures for the operator-command tests: run the real `jobgate` binary against a real stack."""
import os
import subprocess

import pytest

from jobgate_harness import jobgate_binary


class JobgateCLI:
    """Runs `jobgate SUBCOMMAND --addr ADDR ...` as a subprocess and returns the finished process.

    The caller's JOBGATE_ADDR and JOBGATE_TOKEN are removed so a developer's shell cannot change
    what a test talks to; tests that exercise those variables pass them in `env`.
    """

    def __init__(self, stack):
        self.stack = stack
        self.addr = f"tcp://127.0.0.1:{stack.gateway.port}"

    def __call__(self, subcommand, *args, addr="default", env=None, timeout=60):
        command = [jobgate_binary(), subcommand]
        if addr == "default":
            addr = self.addr
        if addr is not None:
            command += ["--addr", addr]
        command += [str(a) for a in args]
        environment = {k: v for k, v in os.environ.items() if k not in ("JOBGATE_ADDR", "JOBGATE_TOKEN")}
        environment.update(env or {})
        return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=timeout)


@pytest.fixture
def jobgate(stack):
    return JobgateCLI(stack)
