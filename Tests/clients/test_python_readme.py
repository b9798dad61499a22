"""Every Python example in clients/README.md's Python section, run as written against a real
gateway. Each example starts with a `# NAME.py` line that names it here."""
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from jobgate_harness import Stack, free_tcp_port, wait_until
from clients_under_test import CLIENTS, jobgate
from certs import make_ca, make_cert

TOKEN = "readme-token-0123456789"


def python_examples():
    with open(os.path.join(CLIENTS, "README.md")) as f:
        readme = f.read()
    section = re.search(r"^## Python:.*?(?=^## )", readme, re.S | re.M).group(0)
    examples = {}
    for block in re.findall(r"^```python\n(.*?)^```", section, re.S | re.M):
        name = re.match(r"# (\S+\.py)\n", block).group(1)
        examples[name] = block
    return examples


EXAMPLES = python_examples()
# The package's directory on the path stands for `pip install ./clients/python`, which
# test_python_package.py checks on its own.
PYTHONPATH = os.path.join(CLIENTS, "python")


def run_example(name, tmp_path, env):
    script = tmp_path / name
    script.write_text(EXAMPLES[name])
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": PYTHONPATH, **env})


def check_produce(c, out):
    assert c.job("welcome-ada")["retries_left"] == 3
    assert c.stats()["queues"]["reports"]["scheduled"] == 2
    assert c.job("thumb-2")["args"] == [2]
    assert out.splitlines()[-1] == "False queued"


def check_lease_by_hand(c, out):
    assert out.splitlines()[0] == "thumb-7 1 60"
    j = c.job("thumb-7")
    assert j["state"] == "finished" and j["attempts"] == 3 and j["retries_left"] == 0
    assert c.stats()["queues"]["thumbs"]["finished"] == 4


def check_manage(c, out):
    lines = out.splitlines()
    assert lines[:3] == ["ValueError: bad image", "1",
                         "{'ok': True, 'requeued': 1, 'still_failed': 0}"]
    assert c.job("thumb-2")["state"] == "canceled"
    with pytest.raises(jobgate.JobgateError):
        c.job("thumb-1")
    assert lines[4] == c.ping()["version"]


FINITE = {"produce.py": check_produce, "lease_by_hand.py": check_lease_by_hand,
          "manage.py": check_manage}
# A worker example runs until SIGTERM: the job it is given, and the result it must store.
WORKERS = {
    "worker.py": ("images", "img.resize", ["cat"], {}, {"thumb": "cat.png"}),
    "tasks_worker.py": ("emails", "mail.send", ["ada@example.com"], {"subject": "hi"},
                        "sent 'hi' to ada@example.com (attempt 1)"),
}


def test_every_example_is_run_here():
    assert sorted(EXAMPLES) == sorted([*FINITE, *WORKERS, "connect.py"])


@pytest.mark.parametrize("name", sorted(FINITE))
def test_example_runs(name, addr, jg, tmp_path):
    r = run_example(name, tmp_path, {"JOBGATE_ADDR": addr})
    assert r.returncode == 0, r.stderr
    FINITE[name](jg, r.stdout)


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_worker_example_runs_jobs_until_sigterm(name, addr, jg, tmp_path):
    queue, func, args, kwargs, expected = WORKERS[name]
    script = tmp_path / name
    script.write_text(EXAMPLES[name])
    p = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "PYTHONPATH": PYTHONPATH,
                                         "JOBGATE_ADDR": addr})
    try:
        job_id = jg.enqueue(queue, func, args, kwargs)["id"]
        answer = jg.result(job_id, wait=20)
        assert answer["done"] and answer["job"]["result"] == expected, answer
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    if name == "worker.py":  # the one that turns logging on
        assert "started: queues images" in err and "stopped after 1 job(s)" in err


def test_connect_example_over_tls_with_a_token(tmp_path):
    make_ca(tmp_path, "ca")
    cert, key = make_cert(tmp_path, "ca", "server", "IP:127.0.0.1,DNS:localhost")
    port = free_tcp_port()
    stack = Stack(gateway_args=["--listen", f"tls://127.0.0.1:{port}", "--tls-cert", cert,
                                "--tls-key", key, "--token", TOKEN])
    try:
        workdir = tmp_path / "app"
        workdir.mkdir()
        shutil.copy(tmp_path / "ca.pem", workdir / "ca.pem")
        r = run_example("connect.py", workdir, {"JOBGATE_ADDR": f"tls://localhost:{port}",
                                                "JOBGATE_TOKEN": TOKEN})
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "ready"
        r = run_example("connect.py", workdir, {"JOBGATE_ADDR": f"tls://localhost:{port}",
                                                "JOBGATE_TOKEN": "not-the-token-4711"})
        assert r.returncode != 0 and "UNAUTHORIZED" in r.stderr and "4711" not in r.stderr
    finally:
        stack.close()
