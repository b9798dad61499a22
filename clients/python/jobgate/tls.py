"""The TLS settings for tls:// addresses."""
from __future__ import annotations

import os
import ssl
from typing import Optional


def client_context(ca_file: Optional[str] = None, check_hostname: bool = True) -> ssl.SSLContext:
    """A context that verifies the gateway's certificate: against `ca_file` (else
    $JOBGATE_TLS_CA) when given, else against the system's trust store; TLS 1.2 or newer."""
    ca_file = ca_file or os.environ.get("JOBGATE_TLS_CA") or None
    if ca_file is not None and not os.path.isfile(ca_file):
        raise ValueError(f"TLS CA file {ca_file!r} does not exist")
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Turning it off is for tests and for certificates without the right names; the chain is
    # still verified.
    context.check_hostname = check_hostname
    return context
