"""jobgate client: a producer and worker for the jobgate line protocol (see protocol.md).

    from jobgate import Client, Worker

    c = Client("tcp://127.0.0.1:7700")          # or tls://HOST:PORT, unix:PATH, or $JOBGATE_ADDR
    c.enqueue("emails", "mail.send", ["ada@example.com"], {"subject": "hi"}, retries=3)

    def handle(job):                             # job is a dict: id, func, args, kwargs, ...
        return {"sent": True}                    # becomes the job's result

    Worker(c, ["emails"], handle).run()          # SIGTERM finishes the running job, then returns
"""
from .address import DEFAULT_ADDR
from .client import Client
from .dispatch import FunctionTable, UnknownFunction
from .errors import JobgateError
from .worker import Job, Worker, current_job

__version__ = "0.1.0"

__all__ = ["Client", "Worker", "Job", "JobgateError", "FunctionTable", "UnknownFunction",
           "current_job", "DEFAULT_ADDR"]
