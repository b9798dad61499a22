"""The Python client over tls:// against a real gateway's TLS listener, with certificates made
by the openssl CLI for each test: verification by CA file, hostname checks, SNI, and the token."""
import logging
import ssl
import time

import pytest

from certs import make_ca, make_cert
from jobgate_harness import Stack, free_tcp_port
from clients_under_test import jobgate
from test_python_worker import run_a_job_longer_than_its_lease

TOKEN = "tls-token-0123456789"


def tls_args(port, cert, key):
    return ["--listen", f"tls://127.0.0.1:{port}", "--tls-cert", cert, "--tls-key", key,
            "--token", TOKEN]


@pytest.fixture
def certs(tmp_path):
    ca = make_ca(tmp_path, "ca")
    server = make_cert(tmp_path, "ca", "server", "IP:127.0.0.1,DNS:localhost")
    return {"ca": ca, "server": server, "dir": tmp_path}


@pytest.fixture
def tls_stack(certs):
    port = free_tcp_port()
    s = Stack(gateway_args=tls_args(port, *certs["server"]))
    s.tls_port = port
    yield s
    s.close()


def test_ops_over_tls_by_ip_and_by_name(tls_stack, certs):
    for host in ("127.0.0.1", "localhost"):  # the certificate's IP and DNS names (SNI)
        with jobgate.Client(f"tls://{host}:{tls_stack.tls_port}", token=TOKEN,
                            tls_ca=certs["ca"]) as c:
            queued = c.enqueue("secure", "f", [host])
            job = c.lease("secure")
            assert job["id"] == queued["id"] and job["args"] == [host]
            assert c.ack(job, result="ok")["state"] == "finished"


def test_ca_file_from_the_environment(tls_stack, certs, monkeypatch):
    monkeypatch.setenv("JOBGATE_TLS_CA", certs["ca"])
    monkeypatch.setenv("JOBGATE_TOKEN", TOKEN)
    with jobgate.Client(f"tls://127.0.0.1:{tls_stack.tls_port}") as c:
        assert c.ping()["redis"] == "ready"


def test_a_certificate_from_another_ca_is_refused_at_once(tls_stack, certs):
    other_ca = make_ca(certs["dir"], "other-ca")
    with jobgate.Client(f"tls://127.0.0.1:{tls_stack.tls_port}", token=TOKEN,
                        tls_ca=other_ca, retries=5, retry_backoff=1) as c:
        t0 = time.monotonic()
        with pytest.raises(ssl.SSLCertVerificationError):
            c.ping()
        assert time.monotonic() - t0 < 1  # a wrong CA is not retried
    # The system store does not know the test CA either.
    with jobgate.Client(f"tls://127.0.0.1:{tls_stack.tls_port}", token=TOKEN) as c:
        with pytest.raises(ssl.SSLCertVerificationError):
            c.ping()


def test_the_certificate_must_name_the_host(tls_stack, certs):
    port = free_tcp_port()
    elsewhere = make_cert(certs["dir"], "ca", "elsewhere", "DNS:elsewhere.example")
    tls_stack.add_gateway(tls_args(port, *elsewhere))
    with jobgate.Client(f"tls://127.0.0.1:{port}", token=TOKEN, tls_ca=certs["ca"]) as c:
        with pytest.raises(ssl.SSLCertVerificationError) as e:
            c.ping()
        assert "127.0.0.1" in str(e.value)
    with jobgate.Client(f"tls://127.0.0.1:{port}", token=TOKEN, tls_ca=certs["ca"],
                        tls_check_hostname=False) as c:
        assert c.ping()["redis"] == "ready"


def test_wrong_token_over_tls_is_unauthorized(tls_stack, certs):
    with jobgate.Client(f"tls://127.0.0.1:{tls_stack.tls_port}", token="guess",
                        tls_ca=certs["ca"]) as c:
        with pytest.raises(jobgate.JobgateError) as e:
            c.stats()
        assert e.value.code == "UNAUTHORIZED" and "guess" not in str(e.value)


def test_reconnect_over_tls_after_a_restart(tls_stack, certs):
    with jobgate.Client(f"tls://127.0.0.1:{tls_stack.tls_port}", token=TOKEN,
                        tls_ca=certs["ca"]) as c:
        c.enqueue("q", "f", id="before")
        tls_stack.gateway.stop()
        tls_stack.gateway.start()
        assert c.enqueue("q", "f", id="after")["state"] == "queued"  # not sent on the dead one
        assert c.job("before")["state"] == "queued"


def test_worker_over_tls_heartbeats_on_an_authenticated_connection(tls_stack, certs, caplog):
    caplog.set_level(logging.DEBUG, logger="jobgate")
    with jobgate.Client(f"tls://localhost:{tls_stack.tls_port}", token=TOKEN,
                        tls_ca=certs["ca"]) as client:
        j = run_a_job_longer_than_its_lease(client)
    assert j["state"] == "finished" and j["result"] == "survived" and j["attempts"] == 1
    assert "heartbeat" not in caplog.text and TOKEN not in caplog.text


def test_missing_ca_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError) as e:
        jobgate.Client("tls://127.0.0.1:7743", tls_ca=str(tmp_path / "nope.pem"))
    assert "nope.pem" in str(e.value) and "does not exist" in str(e.value)
    for bad in ("tls://host", "tls://:7743", "tls://h:99999"):
        with pytest.raises(ValueError):
            jobgate.Client(bad)
