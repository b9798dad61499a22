"""Runs every ```wire example in protocol.md, in document order, against a real gateway.

Replies must match the documented ones exactly, except values that differ on every run (times,
lease tokens, generated ids), which must only have the documented JSON type. A token or id
learned from a reply replaces its documented stand-in in later requests.
"""
import json
import os
import re

from jobgate_harness import ROOT, Stack

VOLATILE = {"lease", "expires_at", "created_at", "enqueued_at", "started_at", "ended_at", "oldest_queued_seconds",
            "last_heartbeat", "run_at", "retry_at", "gateway"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def wire_examples(kind="wire"):
    text = open(os.path.join(ROOT, "protocol.md"), encoding="utf-8").read()
    pairs = []
    for block in re.findall(r"```" + kind + r"\n(.*?)```", text, re.S):
        request = None
        for line in block.splitlines():
            if line.startswith("> "):
                assert request is None, f"two requests without a reply: {line}"
                request = line[2:]
            elif line.startswith("< "):
                assert request is not None, f"reply without a request: {line}"
                pairs.append((request, line[2:]))
                request = None
        assert request is None, f"request without a documented reply: {request}"
    return pairs


def same_type(a, b):
    number = (int, float)
    return (isinstance(a, number) and isinstance(b, number) and not isinstance(a, bool)) or type(a) is type(b)


def match(doc, got, path, learned):
    if isinstance(doc, dict):
        assert isinstance(got, dict), f"{path}: expected an object, got {got!r}"
        assert set(doc) == set(got), f"{path}: keys {sorted(got)} != documented {sorted(doc)}"
        for k in doc:
            key_path = f"{path}.{k}"
            if k in VOLATILE or (k == "id" and isinstance(doc[k], str) and UUID.match(doc[k])):
                assert same_type(doc[k], got[k]), f"{key_path}: {got[k]!r} is not of the documented type"
                if isinstance(doc[k], str) and doc[k] != got[k]:
                    learned[doc[k]] = got[k]
            else:
                match(doc[k], got[k], key_path, learned)
    elif isinstance(doc, list):
        assert isinstance(got, list) and len(got) == len(doc), f"{path}: {got!r} != documented {doc!r}"
        for i, (d, g) in enumerate(zip(doc, got)):
            match(d, g, f"{path}[{i}]", learned)
    else:
        assert doc == got and type(doc) is type(got), f"{path}: {got!r} != documented {doc!r}"


def test_examples_are_extracted():
    pairs = wire_examples()
    assert len(pairs) >= 20, "protocol.md lost its examples"


def test_every_protocol_example(stack):
    run_examples(stack, wire_examples())


def test_every_auth_example():
    s = Stack(gateway_args=["--token", "s3cret"])
    try:
        examples = wire_examples("wire-auth")
        assert examples, "protocol.md lost its auth examples"
        run_examples(s, examples)
    finally:
        s.close()


def test_quit_example_then_the_connection_closes(stack):
    examples = wire_examples("wire-quit")
    assert examples, "protocol.md lost its quit example"
    with stack.client() as c:
        run_on(c, examples)
        assert c.sock.recv(1) == b""  # closed by the gateway


def run_examples(stack, examples):
    with stack.client() as c:
        run_on(c, examples)


def run_on(c, examples):
    learned = {}
    for request, documented in examples:
        for stand_in, real in learned.items():
            request = request.replace(stand_in, real)
            documented = documented.replace(stand_in, real)
        c.send_raw(request.encode() + b"\n")
        got = json.loads(c.read_line())
        match(json.loads(documented), got, f"reply to {request}", learned)
