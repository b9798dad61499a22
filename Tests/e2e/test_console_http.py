"""The web console's rules over plain HTTP: logins, CSRF tokens, the op allow-list, read-only
mode, Host and Origin checks, and the settings that refuse an open console."""
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from certs import make_ca, make_cert
from console_helpers import ConsoleHTTP
from jobgate_harness import ROOT, free_tcp_port, jobgate_binary

TOKEN = "console-s3cret-token"


@pytest.fixture
def console(stack_with):
    def make(*args):
        port = free_tcp_port()
        stack = stack_with("--http", f"tcp://127.0.0.1:{port}", *args)
        return stack, ConsoleHTTP(port)
    return make


def failed_job(stack, queue="q"):
    with stack.client() as c:
        c.ok({"op": "enqueue", "queue": queue, "func": "app.work"})
        job = c.ok({"op": "lease", "queues": [queue]})["job"]
        c.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "error": "boom", "retry": False})
    return job["id"]


def state(stack, job_id):
    with stack.client() as c:
        return c.ok({"op": "job", "id": job_id})["job"]["state"]


def test_actions_need_the_csrf_token_of_the_cookie(console):
    stack, http = console()
    job_id = failed_job(stack)
    cookie, csrf = http.login()
    other_cookie, other_csrf = http.login()
    requeue = {"op": "requeue", "id": job_id}
    for cookie_sent, csrf_sent in [(cookie, None), (cookie, "0" * 64), (cookie, other_csrf), (None, csrf)]:
        status, reply = http.op(requeue, cookie_sent, csrf_sent)
        assert status == 403 and reply["error"]["code"] == "FORBIDDEN", (cookie_sent, csrf_sent, reply)
    assert state(stack, job_id) == "failed"
    status, reply = http.op(requeue, cookie, csrf)
    assert (status, reply) == (200, {"ok": True, "requeued": 1, "still_failed": 0})
    assert state(stack, job_id) == "queued"
    assert http.op({"op": "requeue", "id": job_id}, other_cookie, other_csrf)[1]["error"]["code"] == "WRONG_STATE"


def test_the_cookie_is_httponly_samesite_strict_and_forged_ones_fail(console):
    stack, http = console()
    _, headers, _ = http.request("GET", "/")
    flags = [f.strip() for f in headers["Set-Cookie"].split(";")]
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/" in flags
    cookie, csrf = http.login()
    name, value = cookie.split("=", 1)
    login_id, mac = value.rsplit(".", 1)
    forged = f"{name}={login_id}.{'0' * len(mac)}"
    assert http.op({"op": "ping"}, forged, csrf)[0] == 403
    assert http.op({"op": "ping"}, cookie, csrf)[1]["ok"] is True


def test_only_allowed_ops_run_with_the_gateways_own_errors(console):
    stack, http = console()
    cookie, csrf = http.login()
    for op in ["lease", "enqueue", "auth", "quit", "ack"]:
        status, reply = http.op({"op": op}, cookie, csrf)
        assert status == 403 and f"'{op}'" in reply["error"]["message"], reply
    # Requests reach the gateway's own validation: its codes and messages, unchanged.
    with stack.client() as c:
        for request in [{"op": "job"}, {"op": "stats", "bogus": 1}, {"op": "requeue", "queue": "q"}, {"op": "job", "id": "nope", "ref": 7}]:
            status, reply = http.op(request, cookie, csrf)
            assert status == 200 and reply == c.call(request) and reply["ok"] is False
    status, _, body = http.request("POST", "/api/op", "{not json", {"Cookie": cookie, "X-CSRF-Token": csrf})
    assert status == 200 and '"code":"BAD_REQUEST"' in body and "malformed JSON" in body
    # A GET runs only read ops, whatever its path names.
    assert http.get_json("/api/delete?id=x")[0] == 403
    status, reply = http.get_json("/api/job?id=no-such-job")
    assert (status, reply["error"]["code"]) == (200, "NOT_FOUND")
    status, reply = http.get_json("/api/failed?queue=q&limit=5000")
    assert reply["error"]["code"] == "BAD_REQUEST" and "limit" in reply["error"]["message"]


def test_host_and_origin_of_another_site_are_refused(console):
    stack, http = console()
    cookie, csrf = http.login()
    status, _, _ = http.request("GET", "/api/stats", headers={"Host": "evil.example"})
    assert status == 403
    status, reply = http.op({"op": "ping"}, cookie, csrf, {"Origin": "http://evil.example"})
    assert status == 403 and "Origin" in reply["error"]["message"]
    status, _, body = http.request("GET", "/api/stats", headers={"Origin": "http://evil.example", "Cookie": cookie})
    assert status == 403 and "Origin" in body, "a cross-site read is refused too"
    status, reply = http.op({"op": "ping"}, cookie, csrf, {"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert http.op({"op": "ping"}, cookie, csrf, {"Origin": f"http://127.0.0.1:{http.port}"})[0] == 200
    assert http.request("GET", "/", headers={"Host": f"localhost:{http.port}"})[0] == 200


def test_with_a_token_the_console_asks_for_it_once(console):
    stack, http = console("--token", TOKEN)
    status, headers, page = http.request("GET", "/")
    assert status == 200 and 'name="token"' in page and "csrf-token" not in page and "Set-Cookie" not in headers
    assert http.get_json("/api/stats")[0] == 401
    status, headers, page = http.request("POST", "/login", "token=wrong", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401 and "Wrong token" in page and "Set-Cookie" not in headers
    status, headers, body = http.request("POST", "/login", f"token={TOKEN}", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and headers["Location"] == "/" and TOKEN not in str(headers) + body
    cookie, csrf = http.login(TOKEN)
    status, reply = http.get_json("/api/stats", cookie)
    assert status == 200 and reply["ok"] is True
    assert http.op({"op": "ping"}, cookie, csrf)[1]["ok"] is True
    status, headers, _ = http.request("POST", "/logout", headers={"Cookie": cookie})
    assert status == 303 and "Max-Age=0" in headers["Set-Cookie"]
    assert TOKEN not in stack.gateway.read_log()


def test_failed_logins_are_throttled(console):
    stack, http = console("--token", TOKEN)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    statuses = [http.request("POST", "/login", f"token=guess{i}", form)[0] for i in range(6)]
    assert statuses == [401] * 5 + [429]
    assert http.request("POST", "/login", f"token={TOKEN}", form)[0] == 429


def test_read_only_runs_reads_and_refuses_actions(console):
    stack, http = console("--http-read-only")
    job_id = failed_job(stack)
    cookie, csrf = http.login()
    status, _, page = http.request("GET", "/", headers={"Cookie": cookie})
    assert '<meta name="read-only" content="true">' in page
    status, reply = http.op({"op": "requeue", "id": job_id}, cookie, csrf)
    assert status == 403 and "read-only" in reply["error"]["message"]
    assert state(stack, job_id) == "failed"
    status, reply = http.op({"op": "failed", "queue": "q"}, cookie, csrf)
    assert status == 200 and reply["total"] == 1 and reply["jobs"][0]["error"] == "boom"


def test_metrics_and_the_console_share_the_listener(console):
    stack, http = console()
    status, headers, body = http.request("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and "jobgate_redis_up 1" in body
    assert http.request("GET", "/nowhere")[0] == 404
    assert http.request("PUT", "/api/op")[0] == 405
    with socket.create_connection(("127.0.0.1", http.port), timeout=10) as s:
        s.sendall(f"POST /api/op HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {2 << 20}\r\n\r\n".encode())
        assert s.makefile("rb").readline().startswith(b"HTTP/1.1 413 ")


def test_console_over_tls_gets_a_secure_cookie(stack_with, tmp_path):
    make_ca(tmp_path, "ca")
    cert, key = make_cert(tmp_path, "ca", "console", "IP:127.0.0.1,DNS:localhost")
    port = free_tcp_port()
    stack = stack_with("--http", f"tls://127.0.0.1:{port}", "--tls-cert", cert, "--tls-key", key, "--token", TOKEN)
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    conn.request("POST", "/login", f"token={TOKEN}", {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    flags = [f.strip() for f in r.headers["Set-Cookie"].split(";")]
    assert r.status == 303 and "Secure" in flags and "HttpOnly" in flags
    conn.close()
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    conn.request("GET", "/api/stats", headers={"Cookie": flags[0]})
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read())["ok"] is True
    assert "serving the web console and metrics" in stack.gateway.read_log()


def test_idle_browser_connections_do_not_hold_up_shutdown(console):
    stack, http = console()
    spare = socket.create_connection(("127.0.0.1", http.port))  # a browser's preconnect: nothing sent
    http.request("GET", "/metrics")  # accepted, so the spare one is too
    started = time.monotonic()
    stack.gateway.proc.send_signal(signal.SIGTERM)
    assert stack.gateway.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 3
    spare.close()


def test_console_settings_from_the_environment():
    env = {**os.environ, "JOBGATE_HTTP": "tcp://127.0.0.1:9", "JOBGATE_HTTP_READ_ONLY": "1"}
    p = subprocess.run([jobgate_binary(), "serve", "--check", "--redis", "redis://127.0.0.1:1"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 0 and "web console: tcp://127.0.0.1:9 (read-only)" in p.stdout, p.stderr


@pytest.mark.parametrize("args, refused", [
    (["--http", "tcp://0.0.0.0:9"], "without a token"),
    (["--http", "tcp://0.0.0.0:9", "--insecure"], None),
    (["--http", "tcp://0.0.0.0:9", "--token", TOKEN], None),
    (["--http-read-only"], "needs --http"),
    (["--http", "tcp://127.0.0.1:9", "--metrics", "tcp://127.0.0.1:9"], "same address"),
    (["--http", "tls://127.0.0.1:9"], "--tls-cert"),
])
def test_settings_refuse_an_open_console(args, refused):
    p = subprocess.run([jobgate_binary(), "serve", "--check", "--redis", "redis://127.0.0.1:1", *args],
                       capture_output=True, text=True, timeout=30)
    if refused:
        assert p.returncode != 0 and refused in p.stderr, p.stderr
    else:
        assert p.returncode == 0 and "web console: tcp://0.0.0.0:9" in p.stdout, p.stderr
    assert TOKEN not in p.stdout + p.stderr


def test_protocol_md_console_example(console):
    """Every request of protocol.md's console-api block, with the documented status and body."""
    text = open(os.path.join(ROOT, "protocol.md"), encoding="utf-8").read()
    block = re.search(r"```console-api\n(.*?)```", text, re.S).group(1)
    stack, http = console()
    cookie, csrf = http.login()
    request = None
    checked = 0
    for line in block.splitlines():
        if line.startswith("> "):
            request = line[2:]
            continue
        status, body = line[2:].split(" ", 1)
        method, path, *rest = request.split(" ", 2)
        payload, _, note = (rest[0] if rest else "").partition("#")
        headers = {"Cookie": cookie, "Content-Type": "application/json"}
        if "without X-CSRF-Token" not in note:
            headers["X-CSRF-Token"] = csrf
        got_status, _, got_body = http.request(method, path, payload.strip() or None, headers)
        assert (got_status, json.loads(got_body)) == (int(status), json.loads(body)), request
        checked += 1
    assert checked == 6


def test_a_request_with_two_different_lengths_is_refused(console):
    """Two Content-Length headers could make the console and a proxy in front of it split the
    same bytes into different requests."""
    stack, http = console()
    with socket.create_connection(("127.0.0.1", http.port), timeout=10) as s:
        s.sendall(f"POST /api/op HTTP/1.1\r\nHost: 127.0.0.1:{http.port}\r\nContent-Length: 5\r\n"
                  f"Content-Length: 6\r\n\r\nhello!".encode())
        reply = s.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 400") and "content-length" in reply, reply
