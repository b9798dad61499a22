"""The gateway's own TLS listener: `openssl s_client` as the nc of TLS, certificates reloaded on
SIGHUP without dropping connections, TLS 1.2 at least, tokens as on TCP, and peers that do not
speak TLS."""
import json
import shutil
import signal
import socket
import ssl
import subprocess

import pytest

from certs import make_ca, make_cert
from jobgate_harness import Client, Stack, free_tcp_port, wait_until


@pytest.fixture
def tls(tmp_path):
    ca = make_ca(tmp_path, "ca")
    cert, key = make_cert(tmp_path, "ca", "server", "IP:127.0.0.1,DNS:localhost")
    live_cert, live_key = tmp_path / "live.pem", tmp_path / "live.key"
    shutil.copy(cert, live_cert)
    shutil.copy(key, live_key)
    port = free_tcp_port()
    stack = Stack(gateway_args=["--listen", f"tls://127.0.0.1:{port}", "--tls-cert", str(live_cert),
                                "--tls-key", str(live_key), "--token", "s3cret"])
    stack.tls_port, stack.ca, stack.dir_path = port, ca, tmp_path
    yield stack
    stack.close()


def tls_client(stack, ciphers=None, **context_options):
    context = ssl.create_default_context(cafile=stack.ca)
    if ciphers:
        context.set_ciphers(ciphers)
    for name, value in context_options.items():
        setattr(context, name, value)
    raw = socket.create_connection(("127.0.0.1", stack.tls_port), timeout=10)
    return Client(context.wrap_socket(raw, server_hostname="localhost"), 10)


def s_client(stack, lines, *extra):
    out = subprocess.run(["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{stack.tls_port}",
                          "-CAfile", stack.ca, "-verify_return_error", *extra],
                         input="".join(json.dumps(l) + "\n" for l in lines), capture_output=True, text=True,
                         timeout=20)
    return out.returncode, [json.loads(l) for l in out.stdout.splitlines()], out.stderr


def test_openssl_s_client_is_the_nc_of_tls(tls):
    """`quit` ends the session for a client that cannot half-close."""
    rc, replies, _ = s_client(tls, [{"op": "auth", "token": "s3cret"},
                                    {"op": "enqueue", "queue": "q", "func": "f", "id": "over-tls"},
                                    {"op": "job", "id": "over-tls"}, {"op": "quit"}])
    assert rc == 0
    assert [r["ok"] for r in replies] == [True, True, True, True]
    assert replies[2]["job"]["state"] == "queued"


def test_tls_needs_the_token_like_tcp(tls):
    _, replies, _ = s_client(tls, [{"op": "ping"}, {"op": "quit"}])
    assert replies[0]["error"]["code"] == "UNAUTHORIZED" and replies[1] == {"ok": True}


def test_s_client_refuses_a_gateway_it_does_not_trust(tls, tmp_path):
    other = make_ca(tmp_path, "other")
    rc, replies, err = s_client(tls, [{"op": "quit"}], "-CAfile", other)
    assert rc != 0 and replies == [] and "verify" in err
    with tls.client(unix=True) as u:
        assert u.ok({"op": "ping"})["redis"] == "ready"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_older_than_1_2_is_refused(tls):
    # SECLEVEL=0 lets this client offer TLS 1.1 at all, so it is the gateway that says no.
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION|protocol version"):
        tls_client(tls, ciphers="DEFAULT:@SECLEVEL=0", minimum_version=ssl.TLSVersion.TLSv1_1,
                   maximum_version=ssl.TLSVersion.TLSv1_1).call({"op": "ping"})
    with tls_client(tls, maximum_version=ssl.TLSVersion.TLSv1_2) as c:
        assert c.sock.version() == "TLSv1.2"
        c.ok({"op": "auth", "token": "s3cret"})
    with tls_client(tls) as c:
        assert c.sock.version() == "TLSv1.3"


def test_sighup_reloads_the_certificate_and_keeps_connections(tls):
    old = tls_client(tls)
    old.ok({"op": "auth", "token": "s3cret"})
    first_serial = old.sock.getpeercert()["serialNumber"]
    # A new certificate from the same CA at the same paths.
    cert, key = make_cert(tls.dir_path, "ca", "renewed", "IP:127.0.0.1,DNS:localhost")
    shutil.copy(cert, tls.dir_path / "live.pem")
    shutil.copy(key, tls.dir_path / "live.key")
    tls.gateway.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "TLS certificate reloaded" in tls.gateway.read_log(), what="the reload")
    with tls_client(tls) as fresh:
        assert fresh.sock.getpeercert()["serialNumber"] != first_serial
        fresh.ok({"op": "auth", "token": "s3cret"})
    assert old.ok({"op": "ping"})["redis"] == "ready"  # the open connection kept going
    old.close()


def test_a_broken_certificate_on_sighup_keeps_the_old_one(tls):
    (tls.dir_path / "live.key").write_text("not a key\n")
    tls.gateway.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "TLS certificate not reloaded" in tls.gateway.read_log(), what="the refused reload")
    with tls_client(tls) as c:
        c.ok({"op": "auth", "token": "s3cret"})


def test_plain_text_and_garbage_on_the_tls_port_do_not_hurt(tls):
    for payload in (b'{"op":"ping"}\n', bytes(range(256)) * 8):
        with socket.create_connection(("127.0.0.1", tls.tls_port), timeout=10) as s:
            s.sendall(payload)
            s.settimeout(10)
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass  # closed: what matters is that the gateway lives on
    with tls_client(tls) as c:
        c.ok({"op": "auth", "token": "s3cret"})
        assert c.ok({"op": "ping"})["redis"] == "ready"


def test_pipelined_requests_over_tls_are_answered_in_order(tls):
    with tls_client(tls) as c:
        lines = [{"op": "auth", "token": "s3cret"}] + [
            {"op": "enqueue", "queue": "bulk", "func": "f", "id": f"tls-{i}"} for i in range(500)]
        c.send_raw("".join(json.dumps(l) + "\n" for l in lines).encode())
        replies = [c.reply() for _ in lines]
        assert [r.get("id") for r in replies[1:]] == [f"tls-{i}" for i in range(500)]


def test_tls_listener_without_a_certificate_is_refused_at_start(tmp_path):
    from jobgate_harness import jobgate_binary
    out = subprocess.run([jobgate_binary(), "serve", "--listen", f"tls://127.0.0.1:{free_tcp_port()}",
                          "--data-dir", str(tmp_path / "d"), "--check"], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0 and "--tls-cert" in out.stderr
