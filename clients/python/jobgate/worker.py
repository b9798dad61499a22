"""Worker: lease, run, heartbeat, then ack or fail; stop cleanly on a signal."""
from __future__ import annotations

import functools
import json
import logging
import os
import signal
import socket
import threading
import time
import traceback
from types import FrameType
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from .client import Client, Queues
from .dispatch import Function, FunctionTable
from .errors import JobgateError

log = logging.getLogger("jobgate")

MAX_LEASE_RETRY_DELAY = 30.0


Reporter = Callable[[Dict[str, Any]], None]  # sends a heartbeat with these fields


class Job(Dict[str, Any]):
    """A leased job: the lease reply's dict, plus two Events a long handler may check to give
    up early (`job.should_stop()`), since its outcome would not be acked anyway:
      lost: set when a heartbeat answers LEASE_LOST (the job runs again elsewhere);
      stopped: set when a heartbeat answers STOPPED (the job was stopped: `stop` or RQ's stop
        commands).
    Under a Worker, `report(meta)` and `progress(n)` tell the gateway how the job is going."""

    def __init__(self, data: Mapping[str, Any], reporter: Optional[Reporter] = None) -> None:
        super().__init__(data)
        self.lost = threading.Event()
        self.stopped = threading.Event()
        self._reporter = reporter

    def should_stop(self) -> bool:
        return self.lost.is_set() or self.stopped.is_set()

    def report(self, meta: Mapping[str, Any]) -> None:
        """Replaces the job's meta (RQ's `meta`, which `job` and RQ's tools show) at once."""
        if not isinstance(meta, Mapping):
            raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
        self._report({"meta": dict(meta)})

    def progress(self, percent: float) -> None:
        """Stores `percent` (0 to 100) as the `progress` key of the job's meta at once."""
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) \
                or not 0 <= percent <= 100:
            raise ValueError(f"progress must be a number from 0 to 100, not {percent!r}")
        self._report({"progress": percent})

    def _report(self, fields: Dict[str, Any]) -> None:
        if self._reporter is None:
            raise RuntimeError("report() and progress() work on a job a Worker runs")
        self._reporter(fields)


_running = threading.local()


def current_job() -> Optional[Job]:
    """The job a Worker is running in this thread, for functions called with the job's args."""
    job: Optional[Job] = getattr(_running, "job", None)
    return job


class _StopNow(BaseException):
    """Raised inside the running handler by a signal that asks for a quick stop. A
    BaseException, so that a handler's `except Exception` does not swallow it."""


class Worker:
    """Leases jobs from `queues` (strict priority order) and runs each one.

    What runs a job, one of:
      handler: called with the Job (a dict: id, queue, func, args, kwargs, meta, attempt, ...).
      functions / dotted_paths: the job's `func` is looked up in `functions` ({name: callable})
        or imported by its dotted path (see FunctionTable), then called with *args, **kwargs;
        `jobgate.current_job()` gives the Job.
    The return value (JSON) is acked as the result; an exception fails the attempt with its
    traceback, retried while the job has retries left.

    Heartbeats go every `heartbeat_interval` seconds (default a third of the lease). One that
    answers STOPPED sets `job.stopped`: the handler should return (check `job.should_stop()`),
    and its outcome is logged, not acked. RQ's shutdown command for this worker's name is heard
    at its next lease, after the running job: `run` returns as after `stop()`.

    Stopping: `stop()`, SIGTERM or SIGINT (when `run` is in the main thread) let the running job
    finish and be acked, and lease no more. With quick_stop=True, or on a second signal, the
    running handler is interrupted instead and its job released: it runs again at once
    elsewhere, without spending a retry. A second SIGINT then raises KeyboardInterrupt out of
    `run`; otherwise `run` returns.
    """

    MAX_ERROR = 65536  # jobgate keeps only the last 64 KiB of an error anyway

    def __init__(self, client_or_addr: Union[Client, str, None], queues: Queues,
                 handler: Optional[Callable[[Job], Any]] = None, *,
                 functions: Optional[Mapping[str, Function]] = None,
                 dotted_paths: Union[bool, Sequence[str]] = False, wait: float = 5,
                 lease_for: Optional[float] = None, worker: Optional[str] = None,
                 retry_delay: float = 1.0, quick_stop: bool = False,
                 heartbeat_interval: Optional[float] = None) -> None:
        if (handler is None) == (functions is None and not dotted_paths):
            raise ValueError("give a handler, or functions=/dotted_paths=: exactly one way to "
                             "run jobs")
        self.client = client_or_addr if isinstance(client_or_addr, Client) else Client(client_or_addr)
        self.queues: List[str] = [queues] if isinstance(queues, str) else list(queues)
        self.handler: Callable[[Job], Any] = handler or FunctionTable(functions, dotted_paths)
        self.wait = wait
        self.lease_for = lease_for
        self.name = worker or f"{socket.gethostname()}.{os.getpid()}"
        self.retry_delay = retry_delay
        self.quick_stop = quick_stop
        if heartbeat_interval is not None and not heartbeat_interval > 0:
            raise ValueError(f"heartbeat_interval must be a positive number of seconds, not "
                             f"{heartbeat_interval!r}")
        self.heartbeat_interval = heartbeat_interval
        self.processed = 0
        self._stop = threading.Event()
        self._in_handler = False
        # Its own connection (authenticated like the main one), so a heartbeat never queues
        # behind a blocking call.
        self._heartbeats = self.client.copy(timeout=min(self.client.timeout, 10.0))

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Lets the running job finish, then `run` returns (an idle worker within `wait` s)."""
        self._stop.set()

    def run(self, max_jobs: Optional[int] = None, handle_signals: bool = True) -> int:
        """Works until stopped (or after `max_jobs` jobs). Returns how many jobs it ran."""
        restore = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                restore[sig] = signal.signal(sig, self._on_signal)
        log.info("worker %s started: queues %s on %s", self.name, ",".join(self.queues),
                 self.client.addr)
        try:
            self._loop(max_jobs)
        finally:
            for sig, old in restore.items():
                signal.signal(sig, old)
            self._heartbeats.close()
            log.info("worker %s stopped after %d job(s)", self.name, self.processed)
        return self.processed

    def _loop(self, max_jobs: Optional[int]) -> None:
        failures = 0
        while not self._stop.is_set() and (max_jobs is None or self.processed < max_jobs):
            try:
                reply = self.client.lease_reply(self.queues, wait=self.wait,
                                                lease_for=self.lease_for, worker=self.name)
                failures = 0
            except (OSError, JobgateError) as e:
                if isinstance(e, JobgateError) and not e.retryable:
                    log.error("worker %s: lease refused: %s", self.name, e)
                    raise  # a bad queue name, a wrong token: looping would not fix it
                delay = min(self.retry_delay * 2 ** failures, MAX_LEASE_RETRY_DELAY)
                failures += 1
                log.warning("worker %s: lease failed (%s); retrying in %.1fs", self.name, e, delay)
                self._stop.wait(delay)
                continue
            if reply.get("shutdown"):
                log.info("worker %s: RQ's shutdown command: stopping", self.name)
                self._stop.set()
                return
            job = reply["job"]
            if job is None:
                if not self.wait:
                    self._stop.wait(1)  # no long poll: do not spin on an idle queue
                continue
            if self._stop.is_set():
                # The stop came while the lease was waiting: hand the job back unspent.
                self._release(job, "the worker is stopping")
                return
            self.work(job)

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        second = self._stop.is_set()
        self._stop.set()
        if second and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: give up on the running job too
        quick = second or self.quick_stop
        log.info("worker %s stopping (%s): %s", self.name, signal.Signals(signum).name,
                 "releasing the running job" if quick and self._in_handler
                 else "the running job, if any, finishes first")
        if quick and self._in_handler:
            raise _StopNow

    def work(self, job: Mapping[str, Any]) -> None:
        """Runs one leased job to its end: heartbeats, handler, then ack or fail."""
        job = job if isinstance(job, Job) else Job(job)
        job._reporter = functools.partial(self._report, job)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, done), daemon=True,
                                name=f"jobgate-heartbeat-{job['id']}")
        beat.start()
        _running.job = job
        try:
            try:
                self._in_handler = True
                try:
                    result = self.handler(job)
                finally:
                    self._in_handler = False
                json.dumps(result)  # fail now, with a clear error, if it cannot be a result
            except Exception:
                ok, error = False, traceback.format_exc()[-self.MAX_ERROR:]
            else:
                ok = True
        except (_StopNow, KeyboardInterrupt) as stop:
            done.set()
            beat.join()  # no heartbeat may follow the release
            self._release(job, "the worker was told to stop quickly")
            if isinstance(stop, KeyboardInterrupt):
                raise
            return
        finally:
            _running.job = None
            done.set()
            beat.join()
        self.processed += 1
        self._settle(job, ok, result if ok else None, "" if ok else error)

    def _settle(self, job: Job, ok: bool, result: Any, error: str) -> None:
        if job.lost.is_set():
            log.warning("job %s: the lease was lost while it ran; its outcome is not acked",
                        job["id"])
            return
        if job.stopped.is_set():
            log.warning("job %s was stopped while it ran; its outcome is not acked", job["id"])
            return
        if ok:
            try:
                self._send(job, "ack", lambda: self.client.ack(job, result=result))
                log.debug("job %s finished", job["id"])
                return
            except JobgateError as e:
                # e.g. TOO_LARGE: the job cannot finish with this result, so fail it instead.
                error = f"ack refused: {e}"
        reply = self._send(job, "fail", lambda: self.client.fail(job, error=error))
        log.warning("job %s (%s, attempt %s) failed%s: %s", job["id"], job.get("func"),
                    job.get("attempt"), f", now {reply['state']}" if reply else "",
                    error.strip().splitlines()[-1] if error.strip() else "no error text")

    def _release(self, job: Mapping[str, Any], why: str) -> None:
        if self._send(job, "release", lambda: self.client.release(job)):
            log.info("job %s released: %s", job["id"], why)

    def _heartbeat(self, job: Job, done: threading.Event) -> None:
        every = self.heartbeat_interval or max(float(job.get("lease_seconds") or 30) / 3, 0.2)
        while not done.wait(every):
            try:
                self._heartbeats.heartbeat(job)
            except JobgateError as e:
                if self._lease_ended(job, e, "heartbeat"):
                    return
                log.warning("job %s: heartbeat refused: %s", job["id"], e)
            except OSError as e:
                log.warning("job %s: heartbeat failed: %s", job["id"], e)  # the next one reconnects

    def _report(self, job: Job, fields: Dict[str, Any]) -> None:
        """A heartbeat that only reports (extend 0). A lease already ended is not an error
        here: the handler learns it from `job.should_stop()`."""
        if job.should_stop():
            return
        try:
            self._heartbeats.heartbeat(job, extend=0, **fields)
        except JobgateError as e:
            if not self._lease_ended(job, e, "report"):
                raise
        except OSError as e:
            log.warning("job %s: report failed: %s", job["id"], e)  # progress is not worth a crash

    @staticmethod
    def _lease_ended(job: Job, e: JobgateError, what: str) -> bool:
        """Sets `job.lost` or `job.stopped` when `e` says the lease ended."""
        if e.code == "LEASE_LOST":
            job.lost.set()
            log.warning("job %s: %s answered LEASE_LOST; its result will not be acked",
                        job["id"], what)
        elif e.code == "STOPPED":
            job.stopped.set()
            log.warning("job %s: %s answered STOPPED: the job was stopped; its handler should "
                        "return", job["id"], what)
        else:
            return False
        return True

    def _send(self, job: Mapping[str, Any], what: str,
              call: Callable[[], Dict[str, Any]], attempts: int = 5) -> Optional[Dict[str, Any]]:
        """ack/fail/release, sent again over network errors. If an earlier attempt did get
        through, the next one answers LEASE_LOST, which is logged, as is a lease that expired."""
        for attempt in range(attempts):
            try:
                return call()
            except JobgateError as e:
                if e.code == "LEASE_LOST":
                    log.warning("job %s: %s answered LEASE_LOST%s", job["id"], what,
                                " (an earlier attempt may have got through)" if attempt else "")
                    return None
                if e.code == "STOPPED":
                    log.warning("job %s was stopped; its %s is dropped", job["id"], what)
                    return None
                if not e.retryable or attempt == attempts - 1:
                    raise
                log.warning("job %s: %s: %s; trying again", job["id"], what, e)
            except OSError as e:
                if attempt == attempts - 1:
                    raise
                log.warning("job %s: %s failed: %s; trying again", job["id"], what, e)
            time.sleep(self.retry_delay)
        return None
