"""The error a gateway reply carries."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional


class JobgateError(Exception):
    """An error reply. `code` is the protocol's code (LEASE_LOST, DUPLICATE, NOT_FOUND, ...).

    Network failures are raised as OSError (ConnectionError, TimeoutError, ssl.SSLError) instead.
    """

    def __init__(self, code: str, message: str, retryable: bool = False,
                 reply: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.reply: Dict[str, Any] = dict(reply or {})
        # DUPLICATE names the job that already exists.
        self.id: Optional[str] = self.reply.get("id")


def error_code(reply: Mapping[str, Any]) -> Optional[str]:
    """The error code of a reply, or None for a success."""
    if reply.get("ok") is True:
        return None
    error = reply.get("error")
    return str(error.get("code", "INTERNAL")) if isinstance(error, dict) else "INTERNAL"


def error_from(reply: Mapping[str, Any]) -> Optional[JobgateError]:
    """The JobgateError an error reply stands for, or None for a success."""
    code = error_code(reply)
    if code is None:
        return None
    error = reply.get("error")
    details: Mapping[str, Any] = error if isinstance(error, dict) else {}
    return JobgateError(code, str(details.get("message", "")),
                        bool(reply.get("retryable") or details.get("retryable")), reply)


def raise_for(reply: Dict[str, Any]) -> Dict[str, Any]:
    """Returns a success reply; raises JobgateError for an error reply."""
    error = error_from(reply)
    if error is not None:
        raise error
    return reply
