"""The README's "Using jobgate with RQ" example: a real RQ producer and the real shell worker."""
import json
import os
import re
import signal
import stat
import subprocess
import sys
import urllib.request

from jobgate_harness import ROOT, free_tcp_port, wait_until


def blocks(section, lang):
    return re.findall(r"```" + lang + r"\n(.*?)```", section, re.S)


def test_rq_producer_and_shell_worker_share_a_queue(stack, tmp_path):
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = readme.split("## Using jobgate with RQ", 1)[1].split("\n## ", 1)[0]
    producer, lookup = blocks(section, "python")
    resize_sh, run_worker, _ = blocks(section, "sh")
    socket_path = stack.redis.socket
    producer = producer.replace("jobgate-data/redis.sock", socket_path)
    script = tmp_path / "resize.sh"
    script.write_text(resize_sh)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)

    out = subprocess.run([sys.executable, "-c", producer], capture_output=True, timeout=60, check=True)
    job_id = out.stdout.decode().strip()
    command = run_worker.strip().replace("clients/sh/jobgate-work", os.path.join(ROOT, "clients/sh/jobgate-work"))
    command = command.replace("127.0.0.1:7700", f"127.0.0.1:{stack.gateway.port}").replace("./resize.sh", str(script))
    worker = subprocess.run(command.replace(" --queue", " --once --queue"), shell=True, capture_output=True, timeout=60)
    assert worker.returncode == 0, worker.stderr

    # The lookup snippet runs in the producer's session: give it `redis` and that `job`.
    setup = producer.split("queue = Queue")[0]
    check = setup + f"\nclass job:\n    id = {job_id!r}\n" + lookup.split("\n# ")[0]
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, timeout=60, check=True)
    assert out.stdout.decode().strip().splitlines()[-1] == "{'file': 'cat.jpg', 'width': 200, 'resized': True}"
    with stack.client() as c:
        job = c.ok({"op": "job", "id": job_id})["job"]
    assert job["state"] == "finished" and job["result"] == {"file": "cat.jpg", "width": 200, "resized": True}


def test_rq_dashboard_command_serves_jobgate_queues(stack, tmp_path):
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = readme.split("## Using jobgate with RQ", 1)[1].split("\n## ", 1)[0]
    install, start = blocks(section, "sh")[2].strip().splitlines()
    assert install.split()[:2] == ["pip", "install"] and {"rq-dashboard", "six"} <= set(install.split())
    port = free_tcp_port()
    command = start.replace("$PWD/jobgate-data/redis.sock", stack.redis.socket).replace("9181", str(port))
    command = command.replace("rq-dashboard", os.path.join(os.path.dirname(sys.executable), "rq-dashboard"), 1)
    with stack.client() as c:
        c.ok({"op": "enqueue", "queue": "dashboard-demo", "func": "a.b"})
    log = open(tmp_path / "dashboard.log", "wb")
    proc = subprocess.Popen(command, shell=True, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def queues():
            assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/0/data/queues.json", timeout=5) as resp:
                    return [q["name"] for q in json.loads(resp.read())["queues"]]
            except OSError:
                return None
        assert "dashboard-demo" in wait_until(queues, timeout=30, interval=0.1, what="rq-dashboard to list the queue")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
