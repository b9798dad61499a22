"""Functions that real RQ workers import (by dotted path `rqtasks.<name>`) in the interop tests.

A task that must be counted appends one line, the Unix time it ran, to a side-effect file named
by the test, so the test can tell exactly how many times (and when) RQ ran it.
"""
import os
import time


def _mark(path):
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{time.time():.6f}\n")
        f.flush()
        os.fsync(f.fileno())
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f)


def add(a, b, x=0):
    return a + b + x


def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def boom(message):
    raise ValueError(message)


def counted_add(path, a, b):
    """Records one run in `path`, then adds."""
    _mark(path)
    return a + b


def always_fails(path, message):
    """Records one run in `path`, then raises."""
    _mark(path)
    raise RuntimeError(message)


def fails_until(path, succeed_on, message):
    """Records one run; raises until this is run number `succeed_on`, then returns that number."""
    n = _mark(path)
    if n < succeed_on:
        raise RuntimeError(f"{message} (run {n})")
    return n


def sleepy(seconds, value=None):
    time.sleep(seconds)
    return value


def sleep_then_return(seconds):
    """A long job, for stopping it mid-way."""
    time.sleep(seconds)
    return seconds
