"""A production Redis: passwords, ACL users, TLS, Sentinels with their own login, a Redis that is
late, refuses or dies, and secrets that must stay out of every output (issue #11)."""
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from jobgate_harness import Client, Gateway, free_tcp_port, jobgate_binary, wait_until
from redis_setups import AuthSentinel, Certificates, NetworkRedis, SentinelSetup


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certificates(str(tmp_path_factory.mktemp("certs")))


class Processes:
    """Redis servers, sentinels and gateways of one test, killed when it ends."""

    def __init__(self, directory):
        self.dir = directory
        self.servers, self.gateways = [], []

    def redis(self, **options):
        r = NetworkRedis(self.dir, name=f"redis{len(self.servers)}", **options)
        self.servers.append(r)
        return r

    def sentinel(self, primary, **options):
        s = AuthSentinel(self.dir, f"sentinel{len(self.servers)}", primary, **options)
        self.servers.append(s)
        return s

    def gateway(self, redis_url, *extra_args, wait_ready=True):
        g = Gateway(self.dir, redis_url, extra_args, name=f"jobgate{len(self.gateways)}")
        self.gateways.append(g)
        return g.start(wait_ready=wait_ready)

    def close(self):
        for g in self.gateways:
            g.stop(signal.SIGKILL)
        for server in self.servers:
            server.stop()


@pytest.fixture
def procs(tmp_path):
    p = Processes(str(tmp_path))
    yield p
    p.close()


def round_trip(gateway, queue="access"):
    """Enqueue, lease and ack one job over the gateway's Unix socket; returns the job's id."""
    with gateway.client(unix=True) as c:
        jid = c.ok({"op": "enqueue", "queue": queue, "func": "f", "args": [1]})["id"]
        job = c.ok({"op": "lease", "queues": [queue], "wait": 5})["job"]
        assert job["id"] == jid
        assert c.ok({"op": "ack", "id": jid, "lease": job["lease"], "result": "done"})["state"] == "finished"
    return jid


def accepting(gateway):
    """Whether the gateway accepts connections on its Unix socket (it binds at start, but
    accepts only once Redis has answered)."""
    try:
        Client.unix(gateway.unix, timeout=1).close()
        return True
    except ConnectionRefusedError:
        return False


def log_lines(gateway, *words):
    return [line for line in gateway.read_log().splitlines() if all(w in line for w in words)]


def secret_file(directory, name, secret):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(secret + "\nsecond line is ignored\n")
    return path


def check(*args, **env):
    """Runs `jobgate serve --check` with `env` added to an environment without the caller's
    JOBGATE_ settings, and returns the finished process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBGATE_")}
    return subprocess.run([jobgate_binary(), "serve", "--check", *args], capture_output=True, timeout=20,
                          env={**clean, **env}, text=True)


# Passwords and ACL users

@pytest.mark.parametrize("password", ["secret", "p@ss:w/rd%#?"])
def test_requirepass_from_the_url(procs, password):
    redis = procs.redis(password=password).start()
    userinfo = ":" + urllib.parse.quote(password, safe="") + "@"
    g = procs.gateway(redis.url(userinfo, db=2))
    jid = round_trip(g)
    # The URL's database was selected.
    assert redis.cli("-n", "2", "HGET", f"rq:job:{jid}", "status") == "finished"
    assert redis.cli("-n", "0", "EXISTS", f"rq:job:{jid}") == "0"


def test_unix_socket_url_with_password_and_db(procs, tmp_path):
    sock = str(tmp_path / "pw-redis.sock")
    redis = procs.redis(password="unixpw", extra=["--unixsocket", sock, "--unixsocketperm", "700"]).start()
    g = procs.gateway(f"unix://:unixpw@{sock}?db=3")
    jid = round_trip(g)
    assert redis.cli("-n", "3", "HGET", f"rq:job:{jid}", "status") == "finished"


def acl_user_ready(redis, user, password, rules=("~*", "&*", "+@all")):
    assert redis.cli("ACL", "SETUSER", user, "on", f">{password}", "resetchannels", *rules) == "OK"


def gateway_users(redis):
    """The users the gateway's connections to `redis` are logged in as (redis-cli's own excluded)."""
    return {field[len("user="):] for line in redis.cli("CLIENT", "LIST").splitlines()
            if "cmd=client" not in line for field in line.split() if field.startswith("user=")}


@pytest.mark.parametrize("password_from", ["url", "password-file", "password-file-crlf", "env"])
def test_acl_user(procs, tmp_path, monkeypatch, password_from):
    redis = procs.redis(password="adminpw").start()
    acl_user_ready(redis, "jg", "jg pw:1")
    if password_from == "url":
        g = procs.gateway(redis.url("jg:jg%20pw%3A1@"))
    elif password_from == "password-file":
        g = procs.gateway(redis.url("jg@"), "--redis-password-file", secret_file(str(tmp_path), "pw", "jg pw:1"))
    elif password_from == "password-file-crlf":
        (tmp_path / "pw").write_bytes(b"jg pw:1\r\nsecond line\r\n")
        g = procs.gateway(redis.url("jg@"), "--redis-password-file", str(tmp_path / "pw"))
    else:
        monkeypatch.setenv("JOBGATE_REDIS_PASSWORD", "jg pw:1")
        g = procs.gateway(redis.url("jg@"))
    round_trip(g)
    assert gateway_users(redis) == {"jg"}


def test_acl_user_granted_only_jobgate_channels_works_without_complaint(procs):
    redis = procs.redis(password="adminpw").start()
    acl_user_ready(redis, "narrow", "pw", ("~*", "&jobgate:*", "+@all"))
    g = procs.gateway(redis.url("narrow:pw@"))
    round_trip(g)
    assert log_lines(g, "subscription") == []


def test_user_not_allowed_functions_is_served_through_the_plain_script(procs):
    """FUNCTION and FCALL refused (or a Redis before 7.0): the same scripts run with EVALSHA,
    said once in the log, and Redis holds no jobgate library."""
    redis = procs.redis(password="adminpw").start()
    acl_user_ready(redis, "nofunctions", "pw", ("~*", "&*", "+@all", "-function", "-fcall"))
    g = procs.gateway(redis.url("nofunctions:pw@"))
    round_trip(g)
    [line] = log_lines(g, "Redis functions are not available")
    assert "level=warn" in line and "NOPERM" in line, line
    assert redis.cli("FUNCTION", "LIST") == ""
    assert "cmdstat_evalsha" in redis.cli("INFO", "commandstats")
    # Allowed later: a reconnect loads the library and calls go to it.
    redis.cli("ACL", "SETUSER", "nofunctions", "+function", "+fcall")
    redis.cli("CLIENT", "KILL", "USER", "nofunctions")
    wait_until(lambda: log_lines(g, "Redis functions are available again"), what="the library loaded on reconnect")
    round_trip(g)
    assert "cmdstat_fcall" in redis.cli("INFO", "commandstats")


def test_grants_revoked_while_serving_fall_back_then_are_logged_once(procs):
    redis = procs.redis(password="adminpw").start()
    acl_user_ready(redis, "revoked", "pw")
    g = procs.gateway(redis.url("revoked:pw@"))
    round_trip(g)
    redis.cli("ACL", "SETUSER", "revoked", "-fcall")
    round_trip(g)  # through EVALSHA now
    [line] = log_lines(g, "Redis functions are not available")
    assert "NOPERM" in line and "fcall" in line, line
    redis.cli("ACL", "SETUSER", "revoked", "-evalsha", "-eval")
    with g.client(unix=True) as c:
        for _ in range(3):
            r = c.call({"op": "enqueue", "queue": "access", "func": "f"})
            assert r["error"]["code"] == "UNAVAILABLE" and "NOPERM" in r["error"]["message"], r
    [line] = log_lines(g, "level=error", "may no longer run")
    assert "evalsha" in line, line
    redis.cli("ACL", "SETUSER", "revoked", "+evalsha", "+eval")
    round_trip(g)


def test_acl_user_without_channel_access_is_refused_until_granted(procs):
    """The scripts publish wake-ups, so such a user would fail every op: it is refused at
    connect, with the grant it lacks, and served once granted (no restart)."""
    redis = procs.redis(password="adminpw").start()
    acl_user_ready(redis, "nochan", "pw", ("~*", "+@all"))
    g = procs.gateway(redis.url("nochan:pw@"), wait_ready=False)
    [line] = wait_until(lambda: log_lines(g, "level=error", "NOPERM"), what="the refusal")
    assert "&jobgate:*" in line and "publish" in line, line
    assert g.proc.poll() is None and not accepting(g)
    redis.cli("ACL", "SETUSER", "nochan", "&jobgate:*")
    g.wait_ready()
    round_trip(g)


def test_acl_user_without_key_access_is_refused_until_granted(procs):
    redis = procs.redis(password="adminpw").start()
    acl_user_ready(redis, "nokeys", "pw", ("~other:*", "&*", "+@all"))
    g = procs.gateway(redis.url("nokeys:pw@"), wait_ready=False)
    [line] = wait_until(lambda: log_lines(g, "level=error", "NOPERM"), what="the refusal")
    assert "~rq:* ~jobgate:*" in line, line
    redis.cli("ACL", "SETUSER", "nokeys", "~rq:*", "~jobgate:*")
    g.wait_ready()
    round_trip(g)


# Refused logins, fixed while the gateway waits

def _allow_password(redis, password):
    redis.cli("CONFIG", "SET", "requirepass", password)
    redis.password = password


def _allow_user(redis, user, password):
    acl_user_ready(redis, user, password)


@pytest.mark.parametrize("userinfo, code, allow", [
    (":wrongpw@", "WRONGPASS", lambda r: _allow_password(r, "wrongpw")),
    ("ghost:ghostpw@", "WRONGPASS", lambda r: _allow_user(r, "ghost", "ghostpw")),
    ("", "NOAUTH", lambda r: _allow_password(r, "")),
], ids=["wrong-password", "unknown-user", "no-password"])
def test_refused_login_is_logged_once_then_fixed_without_restart(procs, userinfo, code, allow):
    redis = procs.redis(password="rightpw").start()
    g = procs.gateway(redis.url(userinfo), wait_ready=False)
    # Seven attempts of two connections each: about 3 s of retries with the backoff.
    wait_until(lambda: redis.error_count(code) >= 14, what=f"Redis to refuse the gateway's retries with {code}")
    assert g.proc.poll() is None
    assert not accepting(g)
    [line] = log_lines(g, code)
    assert "level=error" in line and "retrying" in line
    assert "wrongpw" not in g.read_log() and "ghostpw" not in g.read_log()
    allow(redis)
    g.wait_ready(timeout=10)
    round_trip(g)
    assert len(log_lines(g, "redis ready")) == 1


def test_login_refused_while_serving_gives_unavailable_then_recovers(procs):
    redis = procs.redis(password="firstpw").start()
    g = procs.gateway(redis.url(":firstpw@"))
    with g.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "rotate", "func": "f"})
        # The password is rotated on Redis first; the gateway's connections are dropped.
        _allow_password(redis, "secondpw")
        redis.cli("CLIENT", "KILL", "TYPE", "normal")
        redis.cli("CLIENT", "KILL", "TYPE", "pubsub")
        wait_until(lambda: c.call({"op": "enqueue", "queue": "rotate", "func": "f"}).get("error", {}).get("code")
                   == "UNAVAILABLE", what="UNAVAILABLE while the login is refused")
        wait_until(lambda: log_lines(g, "level=error", "WRONGPASS"), what="the refusal in the log")
        _allow_password(redis, "firstpw")
        wait_until(lambda: c.ok({"op": "ping"})["redis"] == "ready", timeout=10, what="the gateway to log in again")
        assert c.ok({"op": "enqueue", "queue": "rotate", "func": "f"})["state"] == "queued"
    assert len(log_lines(g, "WRONGPASS")) == 1


def test_user_without_a_needed_command_is_logged_at_error_level(procs):
    redis = procs.redis(password="adminpw").start()
    acl_user_ready(redis, "noscripts", "pw", ("~*", "&*", "+@all", "-@scripting"))
    g = procs.gateway(redis.url("noscripts:pw@"), wait_ready=False)
    [line] = wait_until(lambda: log_lines(g, "NOPERM"), what="the missing permission in the log")
    assert not accepting(g)
    assert "level=error" in line, line


# Redis not there yet

def test_redis_that_appears_later_is_waited_for(procs):
    redis = procs.redis()  # its port is chosen now, started later
    g = procs.gateway(redis.url(), wait_ready=False)
    started = time.monotonic()
    wait_until(lambda: log_lines(g, "redis unavailable"), what="the gateway to report Redis unavailable")
    while time.monotonic() - started < 3:
        assert g.proc.poll() is None and not accepting(g)
        time.sleep(0.05)
    redis.start()
    # Send the moment the gateway accepts: Redis is ready by then, so the first request works.
    c = wait_until(lambda: _connect_unix(g.unix), timeout=10, interval=0.002, what="the gateway to accept")
    with c:
        assert c.call({"op": "enqueue", "queue": "late", "func": "f"})["state"] == "queued"
    assert len(log_lines(g, "redis unavailable")) == 1
    assert log_lines(g, "level=warn", "redis unavailable")


def _connect_unix(path):
    try:
        return Client.unix(path, timeout=10)
    except ConnectionRefusedError:
        return None


# TLS

def test_tls_redis_end_to_end(procs, certs):
    redis = procs.redis(certs=certs).start()
    g = procs.gateway(redis.url(), "--redis-tls-ca", certs.ca)
    round_trip(g)
    # By name too: the certificate carries DNS:localhost.
    g2 = procs.gateway(redis.url().replace("127.0.0.1", "localhost"), "--redis-tls-ca", certs.ca)
    round_trip(g2)


def _handshake_failures(redis):
    with open(os.path.join(redis.dir, "redis.log"), errors="replace") as f:
        return f.read().count("Error accepting a client connection")


class TLSProblem:
    """A way for the TLS handshake with Redis to fail, and what the gateway must say about it."""

    def __init__(self, gateway_args, client_certs_required, reason, fix):
        self.gateway_args = gateway_args  # from the Certificates
        self.client_certs_required = client_certs_required
        self.reason = reason  # what the gateway's log must say
        self.fix = fix  # the flag that cures it


TLS_PROBLEMS = {
    "untrusted-ca": TLSProblem(lambda c: ["--redis-tls-ca", c.other_ca], False, "certificate verify failed",
                               "--redis-tls-ca"),
    "system-store": TLSProblem(lambda c: [], False, "certificate verify failed", "--redis-tls-ca"),
    "wrong-name": TLSProblem(lambda c: ["--redis-tls-ca", c.ca, "--redis-tls-server-name", "wrong.example"],
                             False, "hostname mismatch", "--redis-tls-server-name"),
    "no-client-cert": TLSProblem(lambda c: ["--redis-tls-ca", c.ca], True, "certificate required",
                                 "--redis-tls-cert"),
}


def refused_over_tls(procs, certs, problem):
    """A gateway whose TLS handshakes with Redis fail, once Redis has seen several of them."""
    redis = procs.redis(certs=certs, auth_clients=problem.client_certs_required).start()
    g = procs.gateway(redis.url(), *problem.gateway_args(certs), wait_ready=False)
    wait_until(lambda: _handshake_failures(redis) >= 6, what="several TLS handshakes to fail")
    return g


@pytest.mark.parametrize("name", TLS_PROBLEMS)
def test_tls_redis_not_trusted_or_not_trusting_is_refused(procs, certs, name):
    g = refused_over_tls(procs, certs, TLS_PROBLEMS[name])
    assert g.proc.poll() is None
    assert not accepting(g)
    [line] = log_lines(g, "TLS")
    assert TLS_PROBLEMS[name].reason in line, line


@pytest.mark.parametrize("name", TLS_PROBLEMS)
def test_tls_failure_is_logged_at_error_level_with_what_to_fix(procs, certs, name):
    g = refused_over_tls(procs, certs, TLS_PROBLEMS[name])
    [line] = log_lines(g, "TLS")
    assert "level=error" in line and TLS_PROBLEMS[name].fix in line, line


def test_tls_client_certificate(procs, certs):
    redis = procs.redis(certs=certs, auth_clients=True).start()
    g = procs.gateway(redis.url(), "--redis-tls-ca", certs.ca,
                      "--redis-tls-cert", certs.client_cert, "--redis-tls-key", certs.client_key)
    round_trip(g)


def test_tls_server_name_that_matches_a_host_given_by_ip(procs, certs):
    redis = procs.redis(certs=certs).start()
    g = procs.gateway(redis.url(), "--redis-tls-ca", certs.ca, "--redis-tls-server-name", "localhost")
    round_trip(g)


# Sentinels with their own login

@pytest.fixture
def sentinels(tmp_path):
    setup = SentinelSetup(str(tmp_path), primary_password="primarypw", sentinel_password="sentpw")
    yield setup
    setup.close()


def fail_over(setup):
    """Asks a sentinel (logged in) for a failover and waits until the sentinels name the replica."""
    assert setup.sentinels[0].cli("SENTINEL", "FAILOVER", "mymaster") == "OK"
    wait_until(lambda: all(s.primary_port() == setup.replica.port for s in setup.sentinels), timeout=30,
               what="the sentinels to name the replica as primary")


def gateway_on_sentinels(procs, setup, tmp_path):
    g = procs.gateway(setup.url(":primarypw@"),
                      "--redis-sentinel-password-file", secret_file(str(tmp_path), "sentpw", "sentpw"))
    assert f"server=127.0.0.1:{setup.primary.port}" in g.read_log()
    return g


def test_sentinels_with_auth_serve_and_follow_a_failover(procs, sentinels, tmp_path):
    g = gateway_on_sentinels(procs, sentinels, tmp_path)
    round_trip(g)
    with g.client(unix=True) as c:
        jid = c.ok({"op": "enqueue", "queue": "fo", "func": "f"})["id"]
        wait_until(lambda: sentinels.replica.cli("EXISTS", f"rq:job:{jid}") == "1", what="the job on the replica")
        fail_over(sentinels)

        def enqueued_on_new_primary():
            r = c.call({"op": "enqueue", "queue": "fo", "func": "f"})
            return r.get("ok") and sentinels.replica.cli("EXISTS", f"rq:job:{r['id']}") == "1"
        wait_until(enqueued_on_new_primary, timeout=30, interval=0.1, what="an enqueue on the new primary")
        assert c.ok({"op": "lease", "queues": ["fo"]})["job"]["id"] == jid
    assert "primarypw" not in g.read_log() and "sentpw" not in g.read_log()


def test_gateway_leaves_the_old_primary_soon_after_a_failover(procs, sentinels, tmp_path):
    """Sentinel demotes the old primary only on its next INFO poll (up to 10 s later); until
    then it still takes writes, and whatever it acknowledges is wiped when it resyncs as a
    replica. The gateway must switch when the sentinels name the new primary, not then."""
    g = gateway_on_sentinels(procs, sentinels, tmp_path)
    with g.client(unix=True) as c:
        fail_over(sentinels)
        orphaned = []

        def enqueued_on_new_primary():
            r = c.call({"op": "enqueue", "queue": "fo", "func": "f"})
            if r.get("ok") and sentinels.replica.cli("EXISTS", f"rq:job:{r['id']}") == "1":
                return True
            if r.get("ok"):
                orphaned.append(r["id"])
            return False
        try:
            wait_until(enqueued_on_new_primary, timeout=3, interval=0.05, what="an enqueue on the new primary")
        except AssertionError:
            pytest.fail(f"3 s after the sentinels named the new primary the gateway still wrote to the old one: "
                        f"{len(orphaned)} acknowledged enqueues there will be lost when it is demoted")


def test_sentinel_acl_user_with_password_from_env(procs, sentinels, monkeypatch):
    for s in sentinels.sentinels:
        assert s.cli("ACL", "SETUSER", "watcher", "on", ">watchpw", "allchannels", "+@all") == "OK"
    monkeypatch.setenv("JOBGATE_REDIS_SENTINEL_PASSWORD", "watchpw")
    g = procs.gateway(sentinels.url(":primarypw@"), "--redis-sentinel-user", "watcher")
    round_trip(g)


def test_sentinel_login_refused_names_the_sentinel_flags(procs, sentinels):
    g = procs.gateway(sentinels.url(":primarypw@"), wait_ready=False)
    [line] = wait_until(lambda: log_lines(g, "level=error", "NOAUTH"), what="the sentinels' refusal in the log")
    assert g.proc.poll() is None and not accepting(g)
    # The primary's password is right: the advice must point at the sentinels' login.
    assert "--redis-sentinel-password-file" in line, line


def test_sentinels_over_tls(procs, certs, tmp_path):
    primary = procs.redis(certs=certs, password="primarypw").start()
    sentinel = procs.sentinel(primary, password="sentpw", quorum=1, certs=certs)
    wait_until(lambda: sentinel.primary_port() == primary.port, what="the TLS sentinel to name the primary")
    url = f"sentinels://:primarypw@127.0.0.1:{sentinel.port}/mymaster/1"
    sentinel_password = secret_file(str(tmp_path), "sentpw", "sentpw")
    g = procs.gateway(url, "--redis-tls-ca", certs.ca, "--redis-sentinel-password-file", sentinel_password)
    jid = round_trip(g)
    assert primary.cli("-n", "1", "HGET", f"rq:job:{jid}", "status") == "finished"
    # The sentinel's certificate is checked like the primary's.
    untrusted = procs.gateway(url, "--redis-tls-ca", certs.other_ca, "--redis-sentinel-password-file",
                              sentinel_password, wait_ready=False)
    wait_until(lambda: log_lines(untrusted, "certificate verify failed"), what="the sentinel's certificate refused")
    assert not accepting(untrusted)


# Secrets

def test_secrets_never_shown(procs, tmp_path):
    password, token = "Pw-7c1e9f-redis", "Tk-52ab0d-token"
    redis = procs.redis(password=password).start()
    metrics_port = free_tcp_port()
    url = redis.url(f":{password}@")
    args = ["--token", token, "--metrics", f"tcp://127.0.0.1:{metrics_port}"]
    g = procs.gateway(url, *args)
    with g.client() as c:
        c.ok({"op": "auth", "token": token})
        shown = [str(c.ok({"op": "ping"})), str(c.ok({"op": "stats"}))]
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
        shown.append(r.read().decode())
    with open(f"/proc/{g.proc.pid}/cmdline", "rb") as f:
        shown.append(f.read().decode())
    shown.append(subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(g.proc.pid)], capture_output=True,
                                text=True).stdout)
    checked = check("--redis", url, *args)
    assert checked.returncode == 0, checked.stderr
    assert "redis: redis://:***@127.0.0.1" in checked.stdout
    shown += [checked.stdout, checked.stderr]
    g.stop()
    shown.append(g.read_log())
    for text in shown:
        assert password not in text and token not in text, text


# serve --check

@pytest.mark.parametrize("case, message", [
    ("missing-ca", "cannot load CA file"),
    ("cert-without-key", "--redis-tls-cert and --redis-tls-key go together"),
    ("key-without-cert", "--redis-tls-cert and --redis-tls-key go together"),
    ("password-in-url-and-file", "the Redis password is given twice"),
    ("password-in-url-and-env", "the Redis password is given twice"),
    ("tls-options-on-plain-redis", "need a rediss:// or sentinels://"),
    ("unknown-scheme", "unknown scheme http://"),
    ("bad-port", "bad host or port '127.0.0.1:notaport'"),
    ("port-out-of-range", "bad host or port '127.0.0.1:70000'"),
    ("bad-percent-escape", "bad percent-escape"),
    ("sentinel-without-master", "expected sentinel://"),
    ("missing-password-file", "cannot read redis-password-file"),
])
def test_check_rejects(tmp_path, certs, case, message):
    missing = str(tmp_path / "missing.pem")
    pw = secret_file(str(tmp_path), "pw", "hunter2")
    args = {
        "missing-ca": ["--redis", "rediss://127.0.0.1:6380/0", "--redis-tls-ca", missing],
        "cert-without-key": ["--redis", "rediss://127.0.0.1:6380/0", "--redis-tls-cert", certs.client_cert],
        "key-without-cert": ["--redis", "rediss://127.0.0.1:6380/0", "--redis-tls-key", certs.client_key],
        "password-in-url-and-file": ["--redis", "redis://:hunter2@127.0.0.1:6379/0", "--redis-password-file", pw],
        "password-in-url-and-env": ["--redis", "redis://:hunter2@127.0.0.1:6379/0"],
        "tls-options-on-plain-redis": ["--redis", "redis://127.0.0.1:6379/0", "--redis-tls-ca", certs.ca],
        "unknown-scheme": ["--redis", "http://:hunter2@127.0.0.1:6379/0"],
        "bad-port": ["--redis", "redis://:hunter2@127.0.0.1:notaport/0"],
        "port-out-of-range": ["--redis", "redis://127.0.0.1:70000/0"],
        "bad-percent-escape": ["--redis", "redis://:hunter2%zz@127.0.0.1:6379/0"],
        "sentinel-without-master": ["--redis", "sentinel://:hunter2@127.0.0.1:26379"],
        "missing-password-file": ["--redis", "redis://127.0.0.1:6379/0", "--redis-password-file", missing],
    }[case]
    env = {"JOBGATE_REDIS_PASSWORD": "hunter3"} if case == "password-in-url-and-env" else {}
    out = check(*args, **env)
    assert out.returncode != 0
    assert message in out.stderr, out.stderr
    assert "configuration OK" not in out.stdout
    assert "hunter2" not in out.stdout + out.stderr and "hunter3" not in out.stdout + out.stderr


def test_check_accepts_every_url_form_and_shows_the_settings(tmp_path, certs):
    pw = secret_file(str(tmp_path), "sentinel-pw", "s3ntinel")
    out = check("--redis", "sentinels://alice:al%40ce@127.0.0.1:26379,localhost:26380/mymaster/2",
                "--redis-sentinel-user", "watcher", "--redis-sentinel-password-file", pw,
                "--redis-tls-ca", certs.ca, "--redis-tls-cert", certs.client_cert, "--redis-tls-key", certs.client_key,
                "--redis-tls-server-name", "localhost")
    assert out.returncode == 0, out.stderr
    assert "redis: sentinels://alice:***@127.0.0.1:26379,localhost:26380/mymaster/2" in out.stdout
    assert "sentinel login: watcher" in out.stdout and "configuration OK" in out.stdout
    assert "al@ce" not in out.stdout and "al%40ce" not in out.stdout and "s3ntinel" not in out.stdout


# Redis lost while serving

def test_tls_redis_with_password_killed_while_serving(procs, certs):
    redis = procs.redis(certs=certs, password="killpw").start()
    g = procs.gateway(redis.url(":killpw@"), "--redis-tls-ca", certs.ca)
    round_trip(g)
    with g.client(unix=True) as c:
        redis.stop(signal.SIGKILL)
        started = time.monotonic()
        r = c.call({"op": "enqueue", "queue": "lost", "func": "f"})
        assert r["error"]["code"] == "UNAVAILABLE" and r["error"]["retryable"] is True, r
        assert time.monotonic() - started < 2
        assert c.ok({"op": "ping"})["redis"] != "ready"
        redis.start()
        wait_until(lambda: c.ok({"op": "ping"})["redis"] == "ready", timeout=15, what="the gateway to reconnect")
        assert c.ok({"op": "enqueue", "queue": "lost", "func": "f"})["state"] == "queued"
    round_trip(g)
