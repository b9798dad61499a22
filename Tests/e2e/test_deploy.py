"""Deployments: many gateways on one Redis, Sentinel failover, the config file and --check."""
import os
import signal
import subprocess
import threading
import time

import pytest

from jobgate_harness import Client, Gateway, Stack, free_tcp_port, jobgate_binary, tcp_port_open, wait_until


def test_three_gateways_share_one_redis(stack):
    gateways = [stack.gateway, stack.add_gateway(), stack.add_gateway()]
    n_producers, per_producer = 3, 300
    done_by = {}
    lock = threading.Lock()
    stop = threading.Event()

    def producer(i):
        with gateways[i % 3].client() as c:
            for k in range(per_producer):
                c.ok({"op": "enqueue", "queue": "multi", "func": "f", "id": f"m{i}-{k}", "retries": 3})

    def worker(i):
        with gateways[i % 3].client() as c:
            while not stop.is_set():
                job = c.ok({"op": "lease", "queues": ["multi"], "wait": 0.2, "lease_for": 5})["job"]
                if job:
                    r = c.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
                    assert r["state"] == "finished"
                    with lock:
                        assert job["id"] not in done_by, f"{job['id']} ran twice"
                        done_by[job["id"]] = i

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    producers = [threading.Thread(target=producer, args=(i,)) for i in range(n_producers)]
    for t in workers + producers:
        t.start()
    for t in producers:
        t.join(timeout=60)
    wait_until(lambda: len(done_by) == n_producers * per_producer, timeout=60, what="every job to run")
    stop.set()
    for t in workers:
        t.join(timeout=30)
    assert len(set(done_by.values())) == 6, "workers on every gateway took jobs"
    stats = []
    for g in gateways:
        with g.client() as c:
            stats.append(c.ok({"op": "stats"})["queues"]["multi"])
    assert stats[0] == stats[1] == stats[2]
    assert stats[0]["finished"] == n_producers * per_producer and stats[0]["queued"] == 0


def test_sweeps_on_many_gateways_promote_each_job_once(stack):
    gateways = [stack.gateway, stack.add_gateway(), stack.add_gateway()]
    with stack.client() as c:
        ids = [c.ok({"op": "enqueue", "queue": "sched", "func": "f", "delay": 1})["id"] for _ in range(300)]
    with gateways[1].client() as c:
        got = []
        deadline = time.time() + 15
        while len(got) < 300 and time.time() < deadline:
            got += [j["id"] for j in c.ok({"op": "lease", "queues": ["sched"], "count": 100, "wait": 1})["jobs"]]
    assert sorted(got) == sorted(ids), "each scheduled job was promoted exactly once"
    assert stack.redis.raw("LLEN", "rq:queue:sched").strip() == b"0"


def test_killed_gateway_leases_come_back(stack):
    other = stack.add_gateway()
    with other.client() as c:
        jid = c.ok({"op": "enqueue", "queue": "k", "func": "f", "retries": 1})["id"]
        c.ok({"op": "lease", "queues": ["k"], "lease_for": 1})
    other.stop(signal.SIGKILL)
    with stack.client() as c:
        job = c.ok({"op": "lease", "queues": ["k"], "wait": 10})["job"]
        assert job["id"] == jid and job["attempt"] == 2


class RedisNode:
    def __init__(self, directory, name, extra=()):
        self.port = free_tcp_port()
        self.dir = os.path.join(directory, name)
        os.makedirs(self.dir)
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                                      "--save", "", "--appendonly", "no", *extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.cli("PING") == "PONG", what=f"redis {name}")

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), *map(str, args)], capture_output=True, timeout=10)
        return out.stdout.decode().strip()


class Sentinel:
    def __init__(self, directory, name, master_port):
        self.port = free_tcp_port()
        conf = os.path.join(directory, f"{name}.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {directory}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {master_port} 2\n"
                    "sentinel down-after-milliseconds mymaster 1000\n"
                    "sentinel failover-timeout mymaster 5000\n")
        self.proc = subprocess.Popen(["redis-sentinel", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.cli("PING") == "PONG", what=f"sentinel {name}")

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), *map(str, args)], capture_output=True, timeout=10)
        return out.stdout.decode().strip()


@pytest.mark.timeout(180)
def test_sentinel_failover_under_load(tmp_path):
    d = str(tmp_path)
    primary = RedisNode(d, "primary")
    replica = RedisNode(d, "replica", ["--replicaof", "127.0.0.1", str(primary_port := primary.port)])
    sentinels = [Sentinel(d, f"s{i}", primary_port) for i in range(3)]
    procs = [primary.proc, replica.proc] + [s.proc for s in sentinels]
    gateway = None
    try:
        wait_until(lambda: "master_link_status:up" in replica.cli("INFO", "replication"), what="replication")
        wait_until(lambda: all("num-other-sentinels" in s.cli("SENTINEL", "master", "mymaster")
                               and int(s.cli("SENTINEL", "master", "mymaster").split("\n")[
                                   s.cli("SENTINEL", "master", "mymaster").split("\n").index("num-other-sentinels") + 1]) == 2
                               for s in sentinels), timeout=30, what="sentinels to see each other")
        url = "sentinel://" + ",".join(f"127.0.0.1:{s.port}" for s in sentinels) + "/mymaster"
        gateway = Gateway(d, url, ["--redis-wait-replicas", "1", "--redis-wait-timeout", "500"]).start()
        assert f"127.0.0.1:{primary.port}" in gateway.read_log()
        acknowledged = []
        stop = threading.Event()

        def producer():
            n = 0
            while not stop.is_set():
                try:
                    with gateway.client(timeout=5) as c:
                        while not stop.is_set():
                            jid = f"fo-{n}"
                            r = c.call({"op": "enqueue", "queue": "fo", "func": "f", "id": jid})
                            if r.get("ok") or r.get("error", {}).get("code") == "DUPLICATE":
                                acknowledged.append(jid)
                                n += 1
                            else:
                                assert r["error"]["code"] == "UNAVAILABLE", r
                                time.sleep(0.05)
                except OSError:
                    time.sleep(0.05)

        t = threading.Thread(target=producer)
        t.start()
        wait_until(lambda: len(acknowledged) > 200, what="load before failover")
        before = len(acknowledged)
        assert sentinels[0].cli("SENTINEL", "FAILOVER", "mymaster") == "OK"
        wait_until(lambda: f"127.0.0.1:{replica.port}" in gateway.read_log(), timeout=60, what="gateway on the new primary")
        wait_until(lambda: len(acknowledged) > before + 200, timeout=60, what="load after failover")
        stop.set()
        t.join(timeout=30)
        # Every acknowledged enqueue is on the new primary: WAIT made each one reach the replica first.
        with gateway.client() as c:
            def found(jid):
                # UNAVAILABLE is the gateway between primaries, not a lost job: ask again.
                reply = wait_until(lambda: (r := c.call({"op": "job", "id": jid})).get("error", {}).get("code") != "UNAVAILABLE" and r,
                                   what=f"an answer about {jid}")
                return reply.get("ok") is True
            missing = [j for j in acknowledged if not found(j)]
        assert missing == [], f"{len(missing)} acknowledged jobs lost in the failover"
        assert "role:master" in replica.cli("INFO", "replication")
    finally:
        if gateway:
            gateway.stop(signal.SIGKILL)
        for p in procs:
            p.kill()


def test_config_file_with_flag_and_env_overrides(tmp_path):
    s = Stack()
    try:
        port, flag_port = free_tcp_port(), free_tcp_port()
        config = tmp_path / "jobgate.toml"
        config.write_text(f'''# a gateway
listen = ["tcp://127.0.0.1:{port}", "unix:{tmp_path}/g.sock"]
redis = "{s.redis.url}"
token = "from-file"   # overridden below
max_connections = 7
log-level = "warn"
''')
        check = subprocess.run([jobgate_binary(), "serve", "--config", str(config), "--check"], capture_output=True, timeout=20)
        assert check.returncode == 0, check.stderr
        out = check.stdout.decode()
        assert f"tcp://127.0.0.1:{port}" in out and "max-connections: 7" in out and "configuration OK" in out
        env = {**os.environ, "JOBGATE_TOKEN": "from-env"}
        p = subprocess.Popen([jobgate_binary(), "serve", "--config", str(config), "--listen", f"tcp://127.0.0.1:{flag_port}"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: tcp_port_open(flag_port), what="gateway on the flag's address")
            assert not tcp_port_open(port), "--listen replaced the file's listen list"
            with Client.tcp("127.0.0.1", flag_port) as c:
                assert c.call({"op": "auth", "token": "from-file"})["error"]["code"] == "UNAUTHORIZED"
                c.ok({"op": "auth", "token": "from-env"})
                assert c.ok({"op": "ping"})["redis"] == "ready"
        finally:
            p.terminate()
            p.wait(timeout=20)
    finally:
        s.close()


@pytest.mark.parametrize("content, message", [
    ("listen = [\"nowhere\"]\n", "expected tcp://HOST:PORT, tls://HOST:PORT or unix:PATH"),
    ("color = \"blue\"\n", "unknown setting 'color'"),
    ("max-connections = \"many\"\n", "must be a whole number"),
    ("listen = [\"tcp://0.0.0.0:7700\"]\n", "refusing to listen on tcp://0.0.0.0:7700 without a token"),
    ("redis = \"sentinel://127.0.0.1:26379/\"\n", "expected redis://"),
    ("this is not toml\n", ":1: expected key = value"),
])
def test_check_rejects_bad_config(tmp_path, content, message):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    out = subprocess.run([jobgate_binary(), "serve", "--config", str(config), "--check"], capture_output=True, timeout=20)
    assert out.returncode != 0 and message in out.stderr.decode(), out.stderr



def test_shipped_config_example_passes_check(tmp_path):
    """deploy/jobgate.toml is valid once its paths exist on this machine."""
    from jobgate_harness import ROOT
    text = open(os.path.join(ROOT, "deploy", "jobgate.toml")).read()
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    text = text.replace("/etc/jobgate/token", str(token)).replace("/run/jobgate", str(tmp_path))
    text = text.replace('unix-group = "jobgate"', 'unix-group = "root"')
    config = tmp_path / "jobgate.toml"
    config.write_text(text)
    out = subprocess.run([jobgate_binary(), "serve", "--config", str(config), "--check"], capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert "redis: redis://10.0.0.5:6379/0" in out.stdout.decode()
    unit = open(os.path.join(ROOT, "deploy", "jobgate.service")).read()
    assert "ExecStart=/usr/local/bin/jobgate serve --config /etc/jobgate/jobgate.toml" in unit
    assert "Type=notify" in unit  # the gateway sends READY=1 (tested in test_start_and_auth.py)


def test_unit_documentation_is_installed_by_the_readme_steps():
    """Each `Documentation=` of the unit names something "Run it on every host" installs."""
    import re
    from jobgate_harness import ROOT
    unit = open(os.path.join(ROOT, "deploy", "jobgate.service")).read()
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    steps = readme.split("## Run it on every host", 1)[1].split("\n## ", 1)[0]
    documents = re.search(r"^Documentation=(.+)$", unit, re.M).group(1).split()
    assert documents
    for document in documents:
        page = re.fullmatch(r"man:([\w-]+)\((\d)\)", document)
        assert page, f"{document} is not a man page the steps could install"
        name, section = page.groups()
        assert re.search(rf"install .*\S+/{name}\.{section} /usr/local/share/man/man{section}/{name}\.{section}", steps), document
