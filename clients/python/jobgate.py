"""jobgate client: a producer and worker for the jobgate line protocol (see protocol.md).

Standard library only, one file: copy it next to your code.

    from jobgate import Client, Worker

    c = Client("tcp://127.0.0.1:7700")          # or "unix:/run/jobgate.sock", or $JOBGATE_ADDR
    c.enqueue("emails", "mail.send", ["ada@example.com"], {"subject": "hi"}, retries=3)

    def handle(job):                             # job is a dict: id, func, args, kwargs, ...
        return {"sent": True}                    # becomes the job's result

    Worker(c, ["emails"], handle).run()          # Ctrl-C finishes the running job, then returns
"""
import json
import logging
import os
import signal
import socket
import threading
import time
import traceback

__all__ = ["Client", "Worker", "Job", "JobgateError", "DEFAULT_ADDR"]

DEFAULT_ADDR = "tcp://127.0.0.1:7700"
log = logging.getLogger("jobgate")


class JobgateError(Exception):
    """An error reply. `code` is the protocol's code (LEASE_LOST, DUPLICATE, ...).

    Connection problems are raised as ConnectionError/OSError instead, not as this class.
    """

    def __init__(self, code, message, retryable=False, reply=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.reply = reply or {}
        # DUPLICATE names the job that already exists.
        self.id = self.reply.get("id")


def _raise_for(reply):
    if reply.get("ok") is True:
        return reply
    err = reply.get("error") or {}
    raise JobgateError(err.get("code", "INTERNAL"), err.get("message", ""),
                       bool(reply.get("retryable") or err.get("retryable")), reply)


def _id_lease(job_or_id, lease):
    # Accept the leased job dict itself, so `c.ack(job)` works as well as `c.ack(id, token)`.
    if isinstance(job_or_id, dict):
        return job_or_id["id"], lease if lease is not None else job_or_id["lease"]
    if lease is None:
        raise TypeError("lease token missing")
    return job_or_id, lease


class Client:
    """One connection to jobgate, opened on first use and reopened after a failure.

    Calls are serialised by a lock, so threads may share a Client, but a blocking `lease`
    holds the connection for its whole wait; give long-waiting threads their own Client.
    """

    def __init__(self, addr=None, timeout=30.0):
        self.addr = addr or os.environ.get("JOBGATE_ADDR") or DEFAULT_ADDR
        self.timeout = timeout  # for one reply, on top of any lease `wait`
        self._sock = None
        self._buf = b""
        self._lock = threading.Lock()
        self._family, self._target = self._parse(self.addr)

    @staticmethod
    def _parse(addr):
        if addr.startswith("unix:") and len(addr) > len("unix:"):
            return socket.AF_UNIX, addr[len("unix:"):]
        if addr.startswith("tcp://"):
            host, sep, port = addr[len("tcp://"):].rpartition(":")
            if host and port.isdigit():
                return socket.AF_INET, (host.strip("[]"), int(port))
        raise ValueError(f"bad jobgate address {addr!r}: want tcp://HOST:PORT or unix:PATH")

    # -- transport ---------------------------------------------------------------------------

    def _connect(self):
        if self._family == socket.AF_UNIX:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(self.timeout)
            s.connect(self._target)
        else:
            s = socket.create_connection(self._target, timeout=self.timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._buf = s, b""

    def close(self):
        with self._lock:
            self._drop()

    def _drop(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock, self._buf = None, b""

    def _read_line(self):
        while True:
            i = self._buf.find(b"\n")
            if i >= 0:
                line, self._buf = self._buf[:i], self._buf[i + 1:]
                return line
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("jobgate closed the connection")
            self._buf += chunk

    def pipeline(self, requests, extra_wait=0.0):
        """Sends every request, then reads every reply (protocol order). Returns raw reply dicts;
        error replies are returned, not raised."""
        data = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in requests)
        with self._lock:
            try:
                if self._sock is None:
                    self._connect()
                self._sock.settimeout(self.timeout + extra_wait)
                self._sock.sendall(data)
                return [json.loads(self._read_line()) for _ in requests]
            except BaseException:
                # A half-read reply would shift every later reply onto the wrong request.
                self._drop()
                raise

    def call(self, request, extra_wait=0.0):
        """Sends one request; returns the reply or raises JobgateError."""
        return _raise_for(self.pipeline([request], extra_wait)[0])

    # -- ops ---------------------------------------------------------------------------------

    def ping(self):
        return self.call({"op": "ping"})

    def enqueue(self, queue, func, args=(), kwargs=None, **options):
        """Options are sent as given (id, delay, at, retries, timeout, meta, ...), so a misspelt
        one is refused by jobgate instead of ignored. Returns the reply: id, state, [run_at]."""
        req = {"op": "enqueue", "queue": queue, "func": func, "args": list(args),
               "kwargs": kwargs or {}}
        req.update(options)
        return self.call(req)

    def enqueue_many(self, jobs, queue=None):
        """Atomic batch. Returns one dict per job ({"ok", "id", ...} or {"ok": false, "error"}):
        a DUPLICATE fails only its own item, so items are not raised."""
        req = {"op": "enqueue", "jobs": [dict(j) for j in jobs]}
        if queue is not None:
            req["queue"] = queue
        return self.call(req)["jobs"]

    def lease(self, queues, wait=0, count=None, lease_for=None, worker=None):
        """Returns a job dict or None; with `count`, a list (maybe empty)."""
        req = {"op": "lease", "queues": [queues] if isinstance(queues, str) else list(queues)}
        if wait:
            req["wait"] = wait
        if count is not None:
            req["count"] = count
        if lease_for is not None:
            req["lease_for"] = lease_for
        if worker is not None:
            req["worker"] = worker
        reply = self.call(req, extra_wait=wait or 0)
        return reply["jobs"] if count is not None else reply["job"]

    def heartbeat(self, job_or_id, lease=None, extend=None):
        """Returns the new expires_at. Raises JobgateError LEASE_LOST when the job is gone."""
        job_id, token = _id_lease(job_or_id, lease)
        req = {"op": "heartbeat", "id": job_id, "lease": token}
        if extend is not None:
            req["extend"] = extend
        return self.call(req)["expires_at"]

    def ack(self, job_or_id, lease=None, result=None):
        job_id, token = _id_lease(job_or_id, lease)
        req = {"op": "ack", "id": job_id, "lease": token}
        if result is not None:
            req["result"] = result
        return self.call(req)

    def fail(self, job_or_id, lease=None, error="", retry=True):
        job_id, token = _id_lease(job_or_id, lease)
        return self.call({"op": "fail", "id": job_id, "lease": token, "error": error,
                          "retry": retry})

    def release(self, job_or_id, lease=None, delay=None):
        job_id, token = _id_lease(job_or_id, lease)
        req = {"op": "release", "id": job_id, "lease": token}
        if delay is not None:
            req["delay"] = delay
        return self.call(req)

    def job(self, job_id):
        """Returns the job's dict (state, result, error, ...). Raises NOT_FOUND."""
        return self.call({"op": "job", "id": job_id})["job"]

    def stats(self):
        return self.call({"op": "stats"})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Job(dict):
    """A leased job: the lease reply's dict, plus `lost`, an Event set when the lease is lost.

    A long handler may check `job.lost.is_set()` and give up early: its result is dropped anyway.
    """

    def __init__(self, data):
        super().__init__(data)
        self.lost = threading.Event()


class Worker:
    """Leases jobs from `queues` (in priority order) and runs `handler(job)` for each.

    The handler runs in the calling thread while a background thread heartbeats every third of
    the lease, so a job may run far longer than its lease. The return value (JSON-serialisable)
    is the result; an exception fails the attempt with its traceback, retried while the job has
    retries left. `stop()` (or SIGINT/SIGTERM when run in the main thread) lets the running job
    finish and leases no more; an idle worker notices within `wait` seconds. A second Ctrl-C
    raises KeyboardInterrupt and releases the running job, which runs again later.
    """

    MAX_ERROR = 65536  # jobgate keeps only the last 64 KiB of an error anyway

    def __init__(self, client_or_addr, queues, handler, wait=5, lease_for=None, worker=None,
                 retry_delay=1.0):
        self.client = client_or_addr if isinstance(client_or_addr, Client) else Client(client_or_addr)
        self.queues = [queues] if isinstance(queues, str) else list(queues)
        self.handler = handler
        self.wait = wait
        self.lease_for = lease_for
        self.name = worker or f"{socket.gethostname()}.{os.getpid()}"
        self.retry_delay = retry_delay
        self._stop = threading.Event()
        self.processed = 0

    def stop(self):
        self._stop.set()

    def _on_signal(self, signum, frame):
        if self._stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: give up on the running job too
        log.info("stopping: the running job, if any, finishes first")
        self.stop()

    @property
    def stopping(self):
        return self._stop.is_set()

    def run(self, max_jobs=None, handle_signals=True):
        """Works until stop() (or after `max_jobs` jobs). Returns how many jobs it handled."""
        restore = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                restore[sig] = signal.signal(sig, self._on_signal)
        try:
            while not self._stop.is_set() and (max_jobs is None or self.processed < max_jobs):
                try:
                    job = self.client.lease(self.queues, wait=self.wait, lease_for=self.lease_for,
                                            worker=self.name)
                except (OSError, JobgateError) as e:
                    if isinstance(e, JobgateError) and not e.retryable:
                        raise  # a bad queue name or the like: looping would not fix it
                    log.warning("lease failed (%s); retrying in %ss", e, self.retry_delay)
                    self._stop.wait(self.retry_delay)
                    continue
                if job is None:
                    if not self.wait:
                        self._stop.wait(1)  # no long poll: do not spin on an idle queue
                    continue
                if self._stop.is_set():
                    # stop() came while the lease was waiting: hand the job back unspent.
                    self._settle(lambda: self.client.release(job))
                    break
                self.work(Job(job))
        finally:
            for sig, old in restore.items():
                signal.signal(sig, old)
        return self.processed

    def work(self, job):
        """Runs one leased job to its end: heartbeats, handler, then ack or fail."""
        job = job if isinstance(job, Job) else Job(job)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, done), daemon=True,
                                name=f"jobgate-heartbeat-{job['id']}")
        beat.start()
        try:
            try:
                result = self.handler(job)
                json.dumps(result)  # fail now, with a clear error, if it cannot be a result
            except Exception:
                ok, error = False, traceback.format_exc()[-self.MAX_ERROR:]
            else:
                ok = True
        except KeyboardInterrupt:
            # Forced quit: hand the job back at once rather than leave it until the lease expires.
            done.set()
            try:
                self.client.release(job)
            except (OSError, JobgateError):
                pass
            raise
        finally:
            done.set()
            beat.join()
        self.processed += 1
        if job.lost.is_set():
            log.warning("job %s: lease lost while running; its outcome is dropped", job["id"])
            return
        if ok:
            try:
                self._settle(lambda: self.client.ack(job, result=result))
                return
            except JobgateError as e:
                # e.g. TOO_LARGE: the job cannot finish with this result, so fail it instead.
                error = f"ack refused: {e}"
        log.info("job %s failed: %s", job["id"], error.strip().splitlines()[-1])
        self._settle(lambda: self.client.fail(job, error=error))

    def _heartbeat(self, job, done):
        # Its own connection, so a heartbeat never queues behind the handler's own calls.
        every = max(float(job.get("lease_seconds") or 30) / 3, 0.2)
        with Client(self.client.addr, timeout=every) as c:
            while not done.wait(every):
                try:
                    c.heartbeat(job)
                except JobgateError as e:
                    if e.code == "LEASE_LOST":
                        job.lost.set()
                        return
                    log.warning("heartbeat for %s: %s", job["id"], e)
                except OSError as e:
                    log.warning("heartbeat for %s: %s", job["id"], e)  # next beat reconnects

    def _settle(self, call, attempts=5):
        """ack/fail/release, retried over transient errors. LEASE_LOST means someone else has
        the job now: nothing left to do."""
        for i in range(attempts):
            try:
                return call()
            except JobgateError as e:
                if e.code == "LEASE_LOST":
                    log.warning("%s", e)
                    return None
                if not e.retryable or i == attempts - 1:
                    raise
            except OSError:
                if i == attempts - 1:
                    raise
            time.sleep(self.retry_delay)
