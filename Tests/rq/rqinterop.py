"""Helpers for the RQ interop suite: run the real `rq worker`, `rq info` and `rq-dashboard`
against the private Redis of a test's `stack`, and read jobs back through RQ's own API."""
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from rq.job import Job
from rq.serializers import JSONSerializer

from jobgate_harness import ROOT, free_tcp_port, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_BIN = os.path.dirname(sys.executable)
SERIALIZER = "rq.serializers.JSONSerializer"


def rq_bin(name):
    path = os.path.join(VENV_BIN, name)
    if not os.path.exists(path):
        path = os.path.join(ROOT, ".venv", "bin", name)
    return path


def rq_env():
    env = dict(os.environ)
    # The worker imports the tasks (`rqtasks.add`) from this folder.
    env["PYTHONPATH"] = HERE + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("RQ_REDIS_URL", None)
    return env


def fetch(r, job_id):
    return Job.fetch(job_id, connection=r, serializer=JSONSerializer)


def redis_now(r):
    sec, usec = r.time()
    return sec + usec / 1e6


def wait_redis_time_past(r, t, what="Redis's clock to pass a time"):
    """Waits until Redis's clock (the one jobgate uses) is past `t`."""
    return wait_until(lambda: redis_now(r) > t, timeout=max(5.0, t - redis_now(r) + 5), interval=0.05, what=what)


def side_runs(path):
    """The runs a task recorded in its side-effect file (one line each: the Unix time it ran)."""
    try:
        with open(path, encoding="utf-8") as f:
            return [float(line) for line in f.read().split()]
    except FileNotFoundError:
        return []


class RQCli:
    """The real `rq` command line, pointed at a stack's Redis. Every process it starts runs in its
    own session, so a hung worker is killed with its work horse and scheduler."""

    def __init__(self, stack):
        self.stack = stack
        self.url = "unix://" + stack.redis.socket
        self.procs = []

    def worker_args(self, queues, burst=True, name=None, extra=()):
        args = [rq_bin("rq"), "worker", "--serializer", SERIALIZER, "--url", self.url]
        if burst:
            args.append("--burst")
        if name:
            args += ["--name", name]
        return args + list(extra) + list(queues)

    def worker(self, *queues, name=None, extra=(), timeout=60):
        """Runs `rq worker --burst` to completion; returns its log text. Fails on a crash."""
        return self.finish(self.start_worker(*queues, name=name, extra=extra, burst=True), timeout=timeout)

    def start_worker(self, *queues, name=None, extra=(), burst=False):
        """Starts an `rq worker` in the background; `finish` waits for it to exit by itself."""
        log = os.path.join(self.stack.dir, f"rq-worker-{len(self.procs)}.log")
        out = open(log, "wb")
        proc = subprocess.Popen(self.worker_args(queues, burst, name, extra), env=rq_env(), cwd=self.stack.dir,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        proc.log_path = log
        proc.log_file = out
        self.procs.append(proc)
        return proc

    def finish(self, proc, timeout=30):
        """Waits for a started worker to exit by itself; returns its log. Fails on a crash or hang."""
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            raise AssertionError(f"rq worker did not exit within {timeout}s:\n{self.read(proc)}")
        text = self.read(proc)
        self.check_worker(proc.returncode, text)
        return text

    @staticmethod
    def kill(proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)
            proc.log_file.close()

    @staticmethod
    def read(proc):
        proc.log_file.flush()
        return open(proc.log_path, encoding="utf-8", errors="replace").read()

    @staticmethod
    def check_worker(returncode, text):
        assert returncode == 0, f"rq worker exited with {returncode}:\n{text}"
        assert "unhandled exception" not in text, f"rq worker crashed on data in Redis:\n{text}"

    def info(self, *args, timeout=60):
        """Runs `rq info --raw` and returns its stdout."""
        proc = subprocess.run([rq_bin("rq"), "info", "--raw", "--serializer", SERIALIZER, "--url", self.url, *args],
                              env=rq_env(), cwd=self.stack.dir, capture_output=True, timeout=timeout)
        out = proc.stdout.decode()
        assert proc.returncode == 0, f"rq info exited with {proc.returncode}:\n{out}\n{proc.stderr.decode()}"
        return out

    def info_queue(self, queue):
        """`rq info --raw` counts for one queue: (queued, executing, finished, failed)."""
        out = self.info()
        m = re.search(rf"^queue {re.escape(queue)} (\d+), (\d+) executing, (\d+) finished, (\d+) failed$", out, re.M)
        assert m, f"rq info does not list queue {queue!r}:\n{out}"
        return tuple(int(g) for g in m.groups())


class Dashboard:
    def __init__(self, stack):
        self.port = free_tcp_port()
        self.log_path = os.path.join(stack.dir, "rq-dashboard.log")
        self.log = open(self.log_path, "wb")
        args = [rq_bin("rq-dashboard"), "--bind", "127.0.0.1", "--port", str(self.port),
                "--redis-url", "unix://" + stack.redis.socket, "--json"]
        self.proc = subprocess.Popen(args, env=rq_env(), cwd=stack.dir, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_until(self._up, timeout=30, interval=0.1, what="rq-dashboard to serve HTTP")
        except BaseException:
            self.stop()
            raise

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"rq-dashboard exited with {self.proc.returncode}:\n{self.read_log()}")
        try:
            return self.get("/0/data/queues.json")[0] == 200
        except OSError:
            return False

    def read_log(self):
        self.log.flush()
        return open(self.log_path, encoding="utf-8", errors="replace").read()

    def get(self, path, method="GET"):
        """Returns (HTTP status, body text)."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def json(self, path, method="GET"):
        status, body = self.get(path, method)
        assert status == 200, f"rq-dashboard {method} {path} -> {status}:\n{body[-3000:]}\n{self.read_log()[-3000:]}"
        return json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
