"""Connecting, authenticating, and deciding which failures may be retried."""
from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .address import Address, parse_address
from .connection import Connection, encode
from .errors import error_code, error_from, raise_for

log = logging.getLogger("jobgate")

MAX_BACKOFF = 2.0


class _NotDelivered(Exception):
    """The request never reached the gateway (connect, auth or OVERLOADED), so sending it again
    is safe whatever it is."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Unanswered(Exception):
    """The request was (maybe partly) sent, and no reply came: its fate is unknown."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _overloaded(reply: Dict[str, Any]) -> _NotDelivered:
    # The gateway writes OVERLOADED as it accepts, before reading any request, then closes.
    return _NotDelivered(error_from(reply) or ConnectionError("OVERLOADED"))


class Transport:
    """One connection, opened on first use and again after a failure, shared under a lock.

    Retry rules (`retries` extra attempts, waiting `backoff`, then twice as long each time, at
    most 2 s): a request that never reached the gateway (connection refused, connect timeout,
    an idle connection the gateway had closed, OVERLOADED) is always sent again. A request whose
    connection broke after it was sent is sent again only when `idempotent`; so is one answered
    UNAVAILABLE. Everything else raises: OSError for the network, JobgateError for a reply.
    A call that times out waiting for its reply is never retried.
    """

    def __init__(self, addr: str, *, token: Optional[str], timeout: float,
                 connect_timeout: float, retries: int, backoff: float,
                 tls: Optional[ssl.SSLContext]) -> None:
        self.address: Address = parse_address(addr)
        if self.address.scheme == "tls" and tls is None:
            raise ValueError("a tls:// address needs an SSL context")
        self._token = token if token is not None else os.environ.get("JOBGATE_TOKEN") or None
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff = backoff
        self.tls = tls
        self._connection: Optional[Connection] = None
        self._lock = threading.Lock()

    @property
    def token(self) -> Optional[str]:
        return self._token

    def exchange(self, requests: Sequence[Mapping[str, Any]], *, idempotent: bool,
                 wait: float = 0.0) -> List[Dict[str, Any]]:
        """Sends the requests, returns their replies (errors included), in order. `wait` is
        how long the gateway may hold the reply back (a blocking lease or result)."""
        if not requests:
            return []
        data = encode(requests)
        attempt = 0
        while True:
            try:
                with self._lock:
                    replies = self._exchange_once(data, len(requests), wait)
                unavailable = error_from(replies[0])
                if not (idempotent and len(replies) == 1 and unavailable is not None
                        and unavailable.code == "UNAVAILABLE" and attempt < self.retries):
                    return replies
                failure: BaseException = unavailable
            except _NotDelivered as e:
                failure = e.cause
            except _Unanswered as e:
                if not idempotent or isinstance(e.cause, socket.timeout) or attempt >= self.retries:
                    raise e.cause from None
                failure = e.cause
            if attempt >= self.retries:
                raise failure from None
            delay = min(self.backoff * 2 ** attempt, MAX_BACKOFF)
            log.debug("jobgate %s: %s; trying again in %.2fs", self.address.scheme, failure, delay)
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _exchange_once(self, data: bytes, count: int, wait: float) -> List[Dict[str, Any]]:
        connection = self._ready_connection()
        try:
            connection.send(data, self.timeout)
            deadline = time.monotonic() + self.timeout + wait
            first = connection.read_reply(deadline)
            if error_code(first) == "OVERLOADED":
                self._drop()
                raise _overloaded(first)
            return [first] + [connection.read_reply(deadline) for _ in range(count - 1)]
        except OSError as e:
            self._drop()
            raise _Unanswered(e) from e
        except _NotDelivered:
            raise
        except BaseException:
            # A half-read exchange would shift every later reply onto the wrong request.
            self._drop()
            raise

    def _ready_connection(self) -> Connection:
        if self._connection is not None and self._connection.closed_by_peer():
            self._drop()
        if self._connection is None:
            try:
                connection = Connection.open(self.address, self.connect_timeout, self.tls)
            except ssl.SSLCertVerificationError:
                raise  # a wrong CA or name: trying again cannot help
            except OSError as e:
                raise _NotDelivered(e) from e
            try:
                if self._token and self.address.needs_auth:
                    self._authenticate(connection)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _authenticate(self, connection: Connection) -> None:
        try:
            connection.send(encode([{"op": "auth", "token": self._token}]), self.connect_timeout)
            reply = connection.read_reply(time.monotonic() + self.connect_timeout)
        except OSError as e:
            raise _NotDelivered(e) from e
        if error_code(reply) == "OVERLOADED":
            raise _overloaded(reply)
        raise_for(reply)  # UNAUTHORIZED: the gateway's message never repeats the token

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
