"""Gateway addresses: tcp://HOST:PORT, tls://HOST:PORT and unix:PATH."""
from __future__ import annotations

import os
from typing import NamedTuple, Optional

DEFAULT_ADDR = "tcp://127.0.0.1:7700"


class Address(NamedTuple):
    scheme: str  # "tcp", "tls" or "unix"
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def needs_auth(self) -> bool:
        """Unix sockets are trusted by the gateway: their file mode decides who may connect."""
        return self.scheme != "unix"


def resolve_addr(addr: Optional[str]) -> str:
    return addr or os.environ.get("JOBGATE_ADDR") or DEFAULT_ADDR


def parse_address(addr: str) -> Address:
    """Parses an address; raises ValueError naming the forms it accepts."""
    if addr.startswith("unix:") and len(addr) > len("unix:"):
        return Address("unix", path=addr[len("unix:"):])
    for scheme in ("tcp", "tls"):
        prefix = scheme + "://"
        if addr.startswith(prefix):
            host, _, port = addr[len(prefix):].rpartition(":")
            host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
            if host and port.isdigit() and 0 < int(port) < 65536:
                return Address(scheme, host=host, port=int(port))
    raise ValueError(f"bad jobgate address {addr!r}: want tcp://HOST:PORT, tls://HOST:PORT "
                     "or unix:PATH")
