"""Client: one method per op of protocol.md."""
from __future__ import annotations

import ssl
import time
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union,
                    overload)

from .address import resolve_addr
from .errors import raise_for
from .tls import client_context
from .transport import Transport

JobDict = Dict[str, Any]
JobRef = Union[str, Mapping[str, Any]]  # a job id, or the leased job's dict (id and lease)
Queues = Union[str, Sequence[str]]

MAX_WAIT = 60.0  # the gateway's limit for one lease or result request


def _id_lease(job_or_id: JobRef, lease: Optional[str]) -> Tuple[str, str]:
    # The leased job dict itself works, so `c.ack(job)` as well as `c.ack(id, token)`.
    if isinstance(job_or_id, Mapping):
        return str(job_or_id["id"]), lease if lease is not None else str(job_or_id["lease"])
    if lease is None:
        raise TypeError("lease token missing: pass the leased job, or its id and lease token")
    return job_or_id, lease


def _given(**fields: Any) -> Dict[str, Any]:
    """The fields that were given: the gateway applies its own defaults to the others."""
    return {k: v for k, v in fields.items() if v is not None}


class Client:
    """A connection to one jobgate, opened on first use and again after a failure.

    addr: tcp://HOST:PORT, tls://HOST:PORT or unix:PATH; default $JOBGATE_ADDR, else
      tcp://127.0.0.1:7700.
    timeout: seconds to wait for a reply (on top of a lease's or result's `wait`).
    token: sent as `auth` on every TCP and TLS connection (never over Unix sockets);
      default $JOBGATE_TOKEN.
    tls_ca: CA file for tls:// addresses; default $JOBGATE_TLS_CA, else the system's store.
    tls_check_hostname: whether the certificate must name the host (default True).
    ssl_context: a context of your own for tls://, instead of tls_ca/tls_check_hostname.
    retries, retry_backoff: see "Retries" in clients/README.md.

    Calls are serialised by a lock, so threads may share a Client, but a blocking `lease` or
    `result` holds the connection for its whole wait: give such threads their own Client.
    """

    def __init__(self, addr: Optional[str] = None, timeout: float = 30.0, *,
                 token: Optional[str] = None, tls_ca: Optional[str] = None,
                 tls_check_hostname: bool = True, ssl_context: Optional[ssl.SSLContext] = None,
                 connect_timeout: float = 10.0, retries: int = 3,
                 retry_backoff: float = 0.2) -> None:
        self.addr = resolve_addr(addr)
        if ssl_context is None and self.addr.startswith("tls://"):
            ssl_context = client_context(tls_ca, tls_check_hostname)
        self._transport = Transport(self.addr, token=token, timeout=timeout,
                                    connect_timeout=connect_timeout, retries=retries,
                                    backoff=retry_backoff, tls=ssl_context)

    @property
    def timeout(self) -> float:
        return self._transport.timeout

    def copy(self, timeout: Optional[float] = None) -> "Client":
        """A new Client with the same address, token and TLS settings, and its own connection."""
        t = self._transport
        return Client(self.addr, t.timeout if timeout is None else timeout, token=t.token or "",
                      ssl_context=t.tls, connect_timeout=t.connect_timeout, retries=t.retries,
                      retry_backoff=t.backoff)

    def __repr__(self) -> str:
        return f"jobgate.Client({self.addr!r})"  # never the token

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ----------------------------------------------------------------------------

    def pipeline(self, requests: Sequence[Mapping[str, Any]],
                 extra_wait: float = 0.0) -> List[Dict[str, Any]]:
        """Sends every request, then reads every reply, in order. Error replies are returned,
        not raised. Sent again only if they never reached the gateway. Keep it to the gateway's
        max_pipeline (1024) requests: past that it stops reading until replies are read."""
        return self._transport.exchange(requests, idempotent=False, wait=extra_wait)

    def call(self, request: Mapping[str, Any], extra_wait: float = 0.0,
             idempotent: bool = False) -> Dict[str, Any]:
        """Sends one request; returns the reply or raises JobgateError."""
        return raise_for(self._transport.exchange([request], idempotent=idempotent,
                                                  wait=extra_wait)[0])

    # -- ops ---------------------------------------------------------------------------------

    def ping(self) -> Dict[str, Any]:
        """The gateway's version, Redis state and limits."""
        return self.call({"op": "ping"}, idempotent=True)

    def enqueue(self, queue: str, func: str, args: Sequence[Any] = (),
                kwargs: Optional[Mapping[str, Any]] = None, *, id: Optional[str] = None,
                at_front: Optional[bool] = None, delay: Optional[float] = None,
                at: Union[float, str, None] = None, timeout: Optional[int] = None,
                retries: Optional[int] = None,
                retry_intervals: Union[float, Sequence[float], None] = None,
                result_ttl: Optional[int] = None, failure_ttl: Optional[int] = None,
                ttl: Optional[int] = None, description: Optional[str] = None,
                meta: Optional[Mapping[str, Any]] = None,
                depends_on: Union[str, Sequence[str], None] = None,
                **options: Any) -> Dict[str, Any]:
        """Creates a job; returns the reply: id, state (queued, scheduled with run_at, or
        deferred). Options left out take the gateway's defaults (protocol.md, `enqueue`); any
        other keyword is sent as given, so a misspelt one is refused with BAD_REQUEST."""
        request = {"op": "enqueue", "queue": queue, "func": func, "args": list(args),
                   "kwargs": dict(kwargs or {})}
        request.update(_given(id=id, at_front=at_front, delay=delay, at=at, timeout=timeout,
                              retries=retries, retry_intervals=retry_intervals,
                              result_ttl=result_ttl, failure_ttl=failure_ttl, ttl=ttl,
                              description=description, meta=meta, depends_on=depends_on))
        request.update(options)
        return self.call(request)

    def enqueue_many(self, jobs: Iterable[Mapping[str, Any]],
                     queue: Optional[str] = None) -> List[Dict[str, Any]]:
        """One atomic batch (up to 10,000). Each job is a dict of enqueue's fields; `queue` is
        the default for jobs without one. Returns one dict per job, {"ok": True, "id", "state"}
        or {"ok": False, "id", "error"}: a DUPLICATE fails only its own item, so items are
        not raised. An invalid item raises BAD_REQUEST and nothing is enqueued."""
        request: Dict[str, Any] = {"op": "enqueue", "jobs": [dict(j) for j in jobs]}
        request.update(_given(queue=queue))
        items: List[Dict[str, Any]] = self.call(request)["jobs"]
        return items

    @overload
    def lease(self, queues: Queues, wait: float = ..., count: None = ...,
              lease_for: Optional[float] = ..., worker: Optional[str] = ...) -> Optional[JobDict]:
        ...

    @overload
    def lease(self, queues: Queues, wait: float = ..., *, count: int,
              lease_for: Optional[float] = ..., worker: Optional[str] = ...) -> List[JobDict]:
        ...

    def lease(self, queues: Queues, wait: float = 0, count: Optional[int] = None,
              lease_for: Optional[float] = None,
              worker: Optional[str] = None) -> Union[JobDict, None, List[JobDict]]:
        """Takes a job from the first non-empty queue (strict priority order), waiting up to
        `wait` seconds (0 to 60). Returns the job dict (id, queue, func, args, kwargs, meta,
        lease, expires_at, lease_seconds, attempt, retries_left) or None; with `count`, a list
        of up to that many jobs (maybe empty). Never sent twice: a lease whose reply is lost
        comes back when it expires."""
        reply = self.lease_reply(queues, wait, count, lease_for, worker)
        if count is not None:
            jobs: List[JobDict] = reply["jobs"]
            return jobs
        job: Optional[JobDict] = reply["job"]
        return job

    def lease_reply(self, queues: Queues, wait: float = 0, count: Optional[int] = None,
                    lease_for: Optional[float] = None,
                    worker: Optional[str] = None) -> Dict[str, Any]:
        """`lease`, returning the whole reply: `job` (or `jobs` with `count`), and
        `shutdown: True` when RQ's shutdown command named `worker` (then no job is leased)."""
        request = {"op": "lease", "queues": [queues] if isinstance(queues, str) else list(queues)}
        request.update(_given(wait=wait or None, count=count, lease_for=lease_for, worker=worker))
        return self.call(request, extra_wait=wait or 0)

    def heartbeat(self, job_or_id: JobRef, lease: Optional[str] = None,
                  extend: Optional[float] = None, *, meta: Optional[Mapping[str, Any]] = None,
                  progress: Optional[float] = None) -> float:
        """Extends the lease (by `extend` seconds, default its lease_seconds; 0 only reports);
        returns the new expires_at. `meta` replaces the job's meta, `progress` (0 to 100) is
        stored in it. Raises JobgateError LEASE_LOST when the job is not yours any more, STOPPED
        when it was stopped."""
        return float(self.heartbeat_reply(job_or_id, lease, extend, meta=meta,
                                          progress=progress)["expires_at"])

    def heartbeat_reply(self, job_or_id: JobRef, lease: Optional[str] = None,
                        extend: Optional[float] = None, *,
                        meta: Optional[Mapping[str, Any]] = None,
                        progress: Optional[float] = None) -> Dict[str, Any]:
        """`heartbeat`, returning the whole reply: `expires_at`, and `shutdown: True` when RQ's
        shutdown command named the lease's worker."""
        job_id, token = _id_lease(job_or_id, lease)
        request: Dict[str, Any] = {"op": "heartbeat", "id": job_id, "lease": token}
        request.update(_given(extend=extend, meta=dict(meta) if meta is not None else None,
                              progress=progress))
        return self.call(request, idempotent=True)

    def ack(self, job_or_id: JobRef, lease: Optional[str] = None,
            result: Any = None) -> Dict[str, Any]:
        """The job is done; `result` (any JSON) is kept for its result_ttl. Returns the reply:
        state finished (or deleted when result_ttl is 0)."""
        job_id, token = _id_lease(job_or_id, lease)
        request = {"op": "ack", "id": job_id, "lease": token}
        request.update(_given(result=result))
        return self.call(request)

    def ack_many(self, jobs: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """Acks many jobs in one request. Each item has `id`, `lease` and optionally `result`
        (a leased job dict works: its other fields are left out). Returns one dict per item,
        {"ok": True, "id", "state"} or {"ok": False, "id", "error"}."""
        items = [{k: j[k] for k in ("id", "lease", "result") if k in j} for j in jobs]
        answers: List[Dict[str, Any]] = self.call({"op": "ack", "jobs": items})["jobs"]
        return answers

    def fail(self, job_or_id: JobRef, lease: Optional[str] = None, error: str = "",
             retry: bool = True) -> Dict[str, Any]:
        """This attempt failed. Returns the reply: state queued, scheduled (with retry_at) or
        failed, and retries_left. `retry=False` fails the job for good."""
        job_id, token = _id_lease(job_or_id, lease)
        return self.call({"op": "fail", "id": job_id, "lease": token, "error": error,
                          "retry": retry})

    def release(self, job_or_id: JobRef, lease: Optional[str] = None,
                delay: Optional[float] = None) -> Dict[str, Any]:
        """Gives the job back without spending a retry: to the head of its queue, or scheduled
        `delay` seconds from now (state scheduled, run_at)."""
        job_id, token = _id_lease(job_or_id, lease)
        request = {"op": "release", "id": job_id, "lease": token}
        request.update(_given(delay=delay))
        return self.call(request)

    def job(self, job_id: str) -> JobDict:
        """The job's dict: state, times, attempts, result, error, ... Raises NOT_FOUND."""
        job: JobDict = self.call({"op": "job", "id": job_id}, idempotent=True)["job"]
        return job

    def result(self, job_id: str, wait: float = 0) -> Dict[str, Any]:
        """Waits up to `wait` seconds for the job to end (finished, failed, canceled or
        stopped). Returns {"done": bool, "job": {...}}. Waits over 60 s take several requests."""
        deadline = time.monotonic() + wait
        while True:
            step = min(max(deadline - time.monotonic(), 0.0), MAX_WAIT)
            request = {"op": "result", "id": job_id}
            request.update(_given(wait=step or None))
            reply = self.call(request, extra_wait=step, idempotent=True)
            if reply["done"] or time.monotonic() >= deadline:
                return reply

    def stats(self) -> Dict[str, Any]:
        """Per-queue counts (`queues`) and this gateway's counters (`gateway`)."""
        return self.call({"op": "stats"}, idempotent=True)

    def failed(self, queue: str, offset: int = 0, limit: int = 100) -> Dict[str, Any]:
        """A page of the queue's failed jobs, oldest failure first: {"total", "jobs",
        "next_offset"}, the next page's offset or None after the last (a page may end before
        `limit` at the gateway's max_page_bytes)."""
        return self.call({"op": "failed", "queue": queue, "offset": offset, "limit": limit},
                         idempotent=True)

    def requeue(self, job_id: Optional[str] = None, *, queue: Optional[str] = None,
                limit: Optional[int] = None) -> Dict[str, Any]:
        """Puts failed jobs back in their queue: one (`job_id`), or a queue's (`queue`), all of
        them or at most `limit`, oldest first. Returns {"requeued", "still_failed"}."""
        if (job_id is None) == (queue is None):
            raise ValueError("requeue takes a job id or queue=, not both")
        if job_id is not None:
            if limit is not None:
                raise ValueError("limit= goes with queue=, not with a job id")
            return self.call({"op": "requeue", "id": job_id})
        if limit is None:
            return self.call({"op": "requeue", "queue": queue, "all": True})
        return self.call({"op": "requeue", "queue": queue, "limit": limit})

    def stop(self, job_id: str) -> Dict[str, Any]:
        """Stops a started job (else WRONG_STATE): state stopped, its holder hears STOPPED at
        its next heartbeat; state stopping for a job a real RQ worker runs."""
        return self.call({"op": "stop", "id": job_id})

    def cancel(self, job_id: str) -> Dict[str, Any]:
        """Cancels a job that has not started (else WRONG_STATE): state canceled."""
        return self.call({"op": "cancel", "id": job_id})

    def delete(self, job_id: str) -> Dict[str, Any]:
        """Removes the job and every trace of it, whatever its state: state deleted."""
        return self.call({"op": "delete", "id": job_id})

    def pause(self, queue: str) -> Dict[str, Any]:
        """Leases take nothing from the queue until `resume`: {"queue", "paused", "queued"}."""
        return self.call({"op": "pause", "queue": queue}, idempotent=True)

    def resume(self, queue: str) -> Dict[str, Any]:
        return self.call({"op": "resume", "queue": queue}, idempotent=True)
