"""`jobgate top` in a real pseudo-terminal against a real gateway: it draws the queues, redraws
as they change, survives the gateway going away, and `q` ends it with the terminal put back."""
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import fcntl

import pytest

from job_steps import enqueue, fail_next
from jobgate_harness import jobgate_binary, wait_until

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """`jobgate top` on the slave side of a pty sized 120x30; the test reads what it draws."""

    def __init__(self, *args):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        self.output = b""
        self.proc = subprocess.Popen([jobgate_binary(), "top", *args], stdin=slave, stdout=slave, stderr=slave,
                                     env={k: v for k, v in os.environ.items() if k not in ("JOBGATE_ADDR", "JOBGATE_TOKEN")},
                                     start_new_session=True)
        os.close(slave)

    def read(self):
        while select.select([self.master], [], [], 0.05)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk
        return self.output

    def frames(self):
        """The text of each frame drawn so far, escape sequences removed."""
        return [ANSI.sub(b"", f).decode(errors="replace") for f in self.read().split(b"\x1b[H")[1:]]

    def last_frame(self):
        frames = self.frames()
        return frames[-1] if frames else ""

    def row(self, queue):
        for line in self.last_frame().split("\r\n"):
            cells = line.split()
            if cells and cells[0] == queue:
                return cells
        return None

    def press(self, key):
        os.write(self.master, key)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal():
    opened = []

    def start(*args):
        opened.append(Terminal(*args))
        return opened[-1]
    yield start
    for t in opened:
        t.close()


def test_top_shows_queues_updates_and_quits_on_q(stack, client, terminal):
    for _ in range(3):
        enqueue(client, "emails")
    enqueue(client, "thumbs")
    fail_next(client, "thumbs")
    client.ok({"op": "pause", "queue": "thumbs"})
    top = terminal("--addr", f"unix:{stack.gateway.unix}", "--interval", "0.3")
    wait_until(lambda: top.row("emails") is not None, what="the emails row")
    header = top.last_frame().split("\r\n")[0]
    assert header.startswith(f"jobgate top  unix:{stack.gateway.unix}") and "redis ready" in header
    columns = next(line.split() for line in top.last_frame().split("\r\n") if line.startswith("QUEUE"))
    assert columns[:9] == ["QUEUE", "QUEUED", "STARTED", "SCHEDULED", "DEFERRED", "FAILED", "FINISHED", "CANCELED", "OLDEST"]
    assert top.row("emails")[1] == "3"
    thumbs = top.row("thumbs")
    assert thumbs[1] == "0" and thumbs[columns.index("FAILED")] == "1" and "PAUSED" in thumbs
    enqueue(client, "emails")
    enqueue(client, "reports")
    wait_until(lambda: (top.row("emails") or [None, None])[1] == "4", what="the count to follow a new job")
    wait_until(lambda: top.row("reports") is not None, what="a new queue to appear")
    frames_before = len(top.frames())
    wait_until(lambda: len(top.frames()) >= frames_before + 2, what="more redraws")
    top.press(b"q")
    assert top.proc.wait(timeout=10) == 0
    output = top.read()
    assert b"\x1b[?1049h" in output and output.rstrip().endswith(b"\x1b[?25h\x1b[?1049l")


def test_top_shows_rates_of_finished_jobs(stack, client, terminal):
    top = terminal("--addr", f"unix:{stack.gateway.unix}", "--interval", "0.5")
    enqueue(client, "work")
    wait_until(lambda: top.row("work") is not None, what="the work row")
    columns = next(line.split() for line in top.last_frame().split("\r\n") if line.startswith("QUEUE"))
    for _ in range(5):
        enqueue(client, "work")
    for _ in range(6):
        job = client.ok({"op": "lease", "queues": ["work"]})["job"]
        client.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
    def done_per_second():
        rate = top.row("work")[columns.index("DONE/S")]
        return 0 if rate == "-" else float(rate)  # "-" until two refreshes have been seen
    wait_until(lambda: done_per_second() > 0, what="a finished rate above 0")
    top.press(b"Q")
    assert top.proc.wait(timeout=10) == 0


def test_top_keeps_going_when_the_gateway_goes_away(stack, terminal):
    top = terminal("--addr", f"tcp://127.0.0.1:{stack.gateway.port}", "--interval", "0.3")
    wait_until(lambda: "q quits" in top.last_frame(), what="a first frame")
    stack.gateway.stop()
    wait_until(lambda: "! CONNECTION_FAILED" in top.last_frame(), what="the lost gateway to be shown")
    assert top.proc.poll() is None
    top.proc.send_signal(signal.SIGTERM)
    assert top.proc.wait(timeout=10) == 0
    assert top.read().rstrip().endswith(b"\x1b[?1049l")


def test_top_refuses_a_bad_interval_or_address(stack):
    env = {k: v for k, v in os.environ.items() if k not in ("JOBGATE_ADDR", "JOBGATE_TOKEN")}
    p = subprocess.run([jobgate_binary(), "top", "--addr", f"unix:{stack.gateway.unix}", "--interval", "0"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 2 and "--interval must be between 0.2 and 60 seconds" in p.stderr
    p = subprocess.run([jobgate_binary(), "top", "--addr", "tcp://127.0.0.1:1"], capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 4 and p.stderr.startswith("jobgate: CONNECTION_FAILED:") and "\x1b[" not in p.stdout
