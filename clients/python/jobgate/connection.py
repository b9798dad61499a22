"""One socket to a gateway, speaking newline-delimited JSON."""
from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any, Dict, Mapping, Optional, Sequence

from .address import Address


def encode(requests: Sequence[Mapping[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in requests)


class Connection:
    """An open socket and the bytes read past the last reply."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    @classmethod
    def open(cls, address: Address, timeout: float,
             tls: Optional[ssl.SSLContext] = None) -> "Connection":
        """Connects within `timeout` seconds (the TLS handshake included)."""
        if address.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX)
            try:
                sock.settimeout(timeout)
                sock.connect(address.path)
            except BaseException:
                sock.close()
                raise
            return cls(sock)
        sock = socket.create_connection((address.host, address.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if address.scheme == "tls":
                assert tls is not None, "a tls:// address needs an SSL context"
                # server_hostname sends SNI and is the name the certificate must match.
                sock = tls.wrap_socket(sock, server_hostname=address.host)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def closed_by_peer(self) -> bool:
        """Whether the gateway has closed this idle connection (it restarted, or dropped us).

        A gateway sends nothing unasked, so anything readable between requests means the
        connection is over, and a request sent on it would be lost without a trace.
        """
        timeout = self._sock.gettimeout()
        self._sock.setblocking(False)
        try:
            self._sock.recv(1)
            return True  # end of file, or bytes nobody asked for
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False  # nothing to read (a TLS session ticket is consumed silently)
        except OSError:
            return True
        finally:
            self._sock.settimeout(timeout)

    def send(self, data: bytes, timeout: float) -> None:
        self._sock.settimeout(timeout)
        self._sock.sendall(data)

    def read_reply(self, deadline: float) -> Dict[str, Any]:
        """Reads one reply by `deadline` (time.monotonic()); raises socket.timeout after it."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
                return _decode(line)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("jobgate did not answer in time")
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("jobgate closed the connection")
            self._buffer += chunk

    def close(self) -> None:
        self._sock.close()


def _decode(line: bytes) -> Dict[str, Any]:
    # A reply that is not a JSON object means the stream itself is broken: the caller drops it.
    try:
        reply = json.loads(line)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise ConnectionError(f"jobgate sent a line that is not a JSON object: {line[:200]!r}")
    return reply
