"""The Swift client's runnable example, run for real against a gateway."""
import os
import re
import subprocess

import pytest

from jobgate_harness import jobgate_binary


def test_swift_image_worker_demo(stack):
    example = os.path.join(os.path.dirname(jobgate_binary()), "jobgate-image-worker")
    if not os.path.exists(example):
        pytest.skip("the Swift example is built by `swift build` next to the jobgate binary")
    env = dict(os.environ, JOBGATE_ADDR=f"tcp://127.0.0.1:{stack.gateway.port}")
    out = subprocess.run([example, "demo", "4"], env=env, capture_output=True, timeout=120)
    text = out.stdout.decode()
    assert out.returncode == 0, text + out.stderr.decode()
    enqueued = int(re.search(r"enqueued (\d+) jobs", text).group(1))
    assert enqueued >= 4
    summary = re.search(r"queue (\S+): (\d+) finished, (\d+) failed, (\d+) queued", text)
    assert summary, text
    finished, failed, queued = map(int, summary.groups()[1:])
    # The demo adds one job in a format the worker refuses, to show a failure.
    assert (finished, failed, queued) == (enqueued - 1, 1, 0), text
