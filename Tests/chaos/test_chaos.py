"""CI's fault-injection run: a fixed seed, 50 s of load under faults, then the drain and the
invariant checks (Tests/chaos/run; about 60 s in all)."""
import os
import subprocess
import sys

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run")


def test_no_invariant_breaks_under_faults():
    run = subprocess.run([sys.executable, RUNNER, "--seed", "1414", "--duration", "50"],
                         capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "violations: 0" in run.stdout
    assert "gateway_kill" in run.stdout and "redis_kill" in run.stdout and "redis_pause" in run.stdout, run.stdout
