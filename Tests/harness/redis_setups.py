"""Production-style Redis for end-to-end tests: redis-server over TCP or TLS with a password or
ACL users, Sentinels that require their own login, and openssl-made certificates.

The harness's RedisServer is the gateway's usual private-style Redis on a Unix socket; these
are the shapes a deployment's shared Redis takes. redis-cli always logs in through REDISCLI_AUTH
(never argv), as an operator's script would.
"""
import os
import signal
import subprocess

from jobgate_harness import free_tcp_port, wait_until


def _openssl(directory, *args):
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=30)


def redis_cli(port, args, password=None, certs=None):
    """Runs redis-cli against 127.0.0.1:`port` (TLS with a client certificate when `certs`
    are given) and returns its stripped stdout: one reply element a line."""
    command = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    if certs:
        command += ["--tls", "--cacert", certs.ca, "--cert", certs.client_cert, "--key", certs.client_key]
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    if password:
        env["REDISCLI_AUTH"] = password
    out = subprocess.run([*command, *map(str, args)], capture_output=True, env=env, timeout=10)
    return out.stdout.decode().strip()


class Certificates:
    """A test CA, a server certificate for 127.0.0.1 and localhost, a client certificate (both
    signed by the CA), and a second, unrelated CA. EC keys: quick to make."""

    def __init__(self, directory):
        self.dir = directory
        path = lambda name: os.path.join(directory, name)  # noqa: E731
        self.ca, self.other_ca = path("ca.pem"), path("other-ca.pem")
        self.server_cert, self.server_key = path("server.pem"), path("server.key")
        self.client_cert, self.client_key = path("client.pem"), path("client.key")
        self._make_ca("ca", "jobgate test CA")
        self._make_ca("other-ca", "unrelated CA")
        with open(path("server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        with open(path("client.ext"), "w") as f:
            f.write("extendedKeyUsage=clientAuth\n")
        self._sign("server", "localhost")
        self._sign("client", "jobgate")

    def _new_key_args(self):
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def _make_ca(self, name, subject):
        _openssl(self.dir, "req", "-x509", *self._new_key_args(), "-keyout", f"{name}.key", "-out", f"{name}.pem",
                 "-days", "2", "-subj", f"/CN={subject}")

    def _sign(self, name, subject):
        _openssl(self.dir, "req", *self._new_key_args(), "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={subject}")
        _openssl(self.dir, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")


class NetworkRedis:
    """A redis-server on 127.0.0.1, over TCP or (given `certs`) TLS only, optionally with
    `requirepass`. `port` may be fixed up front, to start it later at a known address."""

    def __init__(self, directory, name="redis", password=None, certs=None, auth_clients=False, port=None,
                 extra=()):
        self.dir = os.path.join(directory, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.password = password
        self.certs = certs
        self.auth_clients = auth_clients
        self.port = port or free_tcp_port()
        self.extra = list(extra)
        self.proc = None

    def _server_args(self):
        args = ["redis-server", "--bind", "127.0.0.1", "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--logfile", os.path.join(self.dir, "redis.log")]
        if self.certs:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", self.certs.server_cert,
                     "--tls-key-file", self.certs.server_key, "--tls-ca-cert-file", self.certs.ca,
                     "--tls-auth-clients", "yes" if self.auth_clients else "no"]
        else:
            args += ["--port", str(self.port)]
        if self.password:
            args += ["--requirepass", self.password]
        return args + self.extra

    def start(self):
        self.proc = subprocess.Popen(self._server_args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server {self.name} exited with {self.proc.returncode}")
            return self.cli("PING") == "PONG"
        wait_until(answers, what=f"redis-server {self.name} to answer")
        return self

    def cli(self, *args, password=None):
        """redis-cli as the default user, with `password` or else the server's own."""
        return redis_cli(self.port, args, password if password is not None else self.password, self.certs)

    def error_count(self, code):
        """How many replies Redis answered with error `code` (e.g. WRONGPASS): each one is a
        login attempt it refused."""
        prefix = f"errorstat_{code}:count="
        for line in self.cli("INFO", "errorstats").splitlines():
            if line.startswith(prefix):
                return int(line[len(prefix):])
        return 0

    def url(self, userinfo="", db=0):
        scheme = "rediss" if self.certs else "redis"
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}/{db}"

    def stop(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)


class AuthSentinel:
    """A redis-sentinel with `requirepass`, monitoring `primary` as mymaster. With `certs` it
    speaks only TLS, to its clients and to the Redis servers."""

    def __init__(self, directory, name, primary, password, quorum=2, certs=None):
        self.port = free_tcp_port()
        self.name = name
        self.password = password
        self.certs = certs
        lines = ["port 0", f"tls-port {self.port}", "tls-replication yes", "tls-auth-clients no",
                 f"tls-cert-file {certs.server_cert}", f"tls-key-file {certs.server_key}",
                 f"tls-ca-cert-file {certs.ca}"] if certs else [f"port {self.port}"]
        lines += ["bind 127.0.0.1", f"dir {directory}", f"logfile {os.path.join(directory, name + '.log')}",
                  f"requirepass {password}", f"sentinel monitor mymaster 127.0.0.1 {primary.port} {quorum}",
                  f"sentinel auth-pass mymaster {primary.password}", "sentinel down-after-milliseconds mymaster 1000",
                  "sentinel failover-timeout mymaster 5000"]
        conf = os.path.join(directory, f"{name}.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["redis-sentinel", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.cli("PING") == "PONG", what=f"sentinel {name}")

    def cli(self, *args):
        return redis_cli(self.port, args, self.password, self.certs)

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def primary_port(self):
        reply = self.cli("SENTINEL", "get-master-addr-by-name", "mymaster").splitlines()
        return int(reply[1]) if len(reply) == 2 else None


class SentinelSetup:
    """A primary and its replica, both with `requirepass` (and `masterauth`, so either can be
    the other's replica after a failover), and three Sentinels with their own password."""

    def __init__(self, directory, primary_password, sentinel_password):
        # No diskless-sync delay: Redis 7 otherwise waits 5 s for more replicas before a sync.
        common = ["--masterauth", primary_password, "--repl-diskless-sync-delay", "0"]
        self.primary = NetworkRedis(directory, "primary", password=primary_password, extra=common).start()
        self.replica = NetworkRedis(directory, "replica", password=primary_password,
                                    extra=[*common, "--replicaof", "127.0.0.1", str(self.primary.port)]).start()
        self.sentinels = []
        try:
            # Sentinels find replicas through the primary's INFO: start them once the link is up.
            wait_until(lambda: "master_link_status:up" in self.replica.cli("INFO", "replication"),
                       what="the replica to sync")
            self.sentinels = [AuthSentinel(directory, f"sentinel{i}", self.primary, sentinel_password)
                              for i in range(3)]
            wait_until(lambda: all(self._knows_replica(s) for s in self.sentinels), what="sentinels to see the replica")
        except BaseException:
            self.close()
            raise

    def _knows_replica(self, sentinel):
        return str(self.replica.port) in sentinel.cli("SENTINEL", "replicas", "mymaster")

    def url(self, userinfo="", scheme="sentinel"):
        return f"{scheme}://{userinfo}" + ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels) + "/mymaster"

    def close(self):
        for s in self.sentinels:
            s.stop()
        self.replica.stop()
        self.primary.stop()
