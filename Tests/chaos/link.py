"""A client connection that survives the faults: it reconnects to a random gateway after any
connection error, and tells apart answers from requests whose fate is unknown."""
import json
import socket

from jobgate_harness import Client


class Unknown(Exception):
    """The request may or may not have taken effect: the connection failed, or the gateway said
    UNAVAILABLE (it may already have sent the request to Redis)."""


class Link:
    def __init__(self, cluster, rng, timeout=20):
        self.cluster = cluster
        self.rng = rng
        self.timeout = timeout
        self.client = None

    def call(self, request, extra_timeout=0):
        """The reply, or Unknown. UNAVAILABLE counts as unknown; other errors are answers."""
        try:
            if self.client is None:
                kind, where = self.cluster.address(self.rng)
                self.client = (Client.unix(where, self.timeout) if kind == "unix"
                               else Client.tcp("127.0.0.1", where, self.timeout))
            self.client.sock.settimeout(self.timeout + extra_timeout)
            reply = self.client.call(request)
        except (OSError, ConnectionError, ValueError) as e:
            self.close()
            raise Unknown(f"{type(e).__name__}: {e}") from None
        if not reply.get("ok") and reply["error"]["code"] == "UNAVAILABLE":
            raise Unknown(reply["error"]["message"])
        return reply

    def close(self):
        if self.client is not None:
            try:
                self.client.close()
            except OSError:
                pass
            self.client = None


def code(reply):
    return None if reply.get("ok") else reply["error"]["code"]


def abandon(cluster, rng, line):
    """Connects, sends `line` (whole or cut short) and closes without reading the reply."""
    kind, where = cluster.address(rng)
    try:
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(2)
            s.connect(where)
        else:
            s = socket.create_connection(("127.0.0.1", where), timeout=2)
        with s:
            s.sendall(line)
    except OSError:
        pass


def encode(request):
    return json.dumps(request).encode() + b"\n"
