"""scripts/run as a new user starts it: from their own directory, with relative paths."""
import os
import signal
import subprocess

from jobgate_harness import ROOT, Client, wait_until

RUN = os.path.join(ROOT, "scripts", "run")


def test_relative_paths_are_the_callers_and_nothing_else_is_printed(tmp_path):
    # Arguments go through to `jobgate serve`. This first call also builds the release binary if
    # the clone has none yet, so the start below has nothing to install or build.
    done = subprocess.run([RUN, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    assert "--listen" in done.stdout

    (tmp_path / "my.toml").write_text('log-level = "debug"\n')
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([RUN, "--config", "my.toml", "--data-dir", "data", "--listen", "unix:gw.sock"],
                                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        socket_path = tmp_path / "gw.sock"
        wait_until(lambda: socket_path.exists() or proc.poll() is not None, timeout=60, what="the gateway's socket")
        assert proc.poll() is None, log_path.read_text()

        def pings():
            try:  # the socket is bound at once, but accepts only once Redis answers
                with Client.unix(str(socket_path)) as c:
                    return c.call({"op": "ping"}).get("redis") == "ready"
            except ConnectionRefusedError:
                return False
        wait_until(pings, what="redis ready")
        assert (tmp_path / "data" / "redis.sock").exists()
        assert not os.path.exists(os.path.join(ROOT, "gw.sock"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    lines = log_path.read_text().splitlines()
    # Only the gateway's own log lines: no setup, apt or SwiftPM output on a start with nothing missing.
    assert lines and all(line.startswith("ts=") for line in lines), lines
    assert any("level=debug" in line for line in lines), "the relative --config was not read"
