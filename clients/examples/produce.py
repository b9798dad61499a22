#!/usr/bin/env python3
"""Enqueue one job with a raw socket: one JSON line out, one JSON line back. Usage: produce.py [QUEUE]"""
import json, os, socket, sys

addr = os.environ.get("JOBGATE_ADDR", "tcp://127.0.0.1:7700")
if addr.startswith("unix:"):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(addr[len("unix:"):])
else:
    host, port = addr[len("tcp://"):].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))

queue = sys.argv[1] if len(sys.argv) > 1 else "emails"
request = {"op": "enqueue", "queue": queue, "func": "mail.send",
           "args": ["ada@example.com"], "kwargs": {"lang": "python"}}
sock.sendall(json.dumps(request).encode() + b"\n")

reply = b""
while not reply.endswith(b"\n"):      # the reply is exactly one line
    chunk = sock.recv(4096)
    if not chunk:
        break
    reply += chunk
sock.close()

reply = json.loads(reply)
if not reply["ok"]:
    sys.exit(f"{reply['error']['code']}: {reply['error']['message']}")
print(reply["id"])
