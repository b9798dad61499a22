"""How the operator commands reach a gateway: addresses, tokens, timeouts, and what they do when
they cannot."""
import socket

from cli_helpers import error_line, json_lines
from job_steps import enqueue
from jobgate_harness import free_tcp_port


def test_unix_address(stack, client, jobgate):
    enqueue(client, "emails")
    p = jobgate("stats", addr=f"unix:{stack.gateway.unix}")
    assert p.returncode == 0, p.stderr
    assert "emails" in p.stdout.split()


def test_address_from_environment(stack, client, jobgate):
    enqueue(client, "emails", id="from-env")
    p = jobgate("job", "from-env", addr=None, env={"JOBGATE_ADDR": f"unix:{stack.gateway.unix}"})
    assert p.returncode == 0, p.stderr
    assert "state: queued" in p.stdout.splitlines()


def test_gateway_down_exits_4(tmp_path, jobgate):
    port = free_tcp_port()
    p = jobgate("stats", addr=f"tcp://127.0.0.1:{port}")
    assert p.returncode == 4
    assert error_line(p) == f"jobgate: CONNECTION_FAILED: cannot connect to tcp://127.0.0.1:{port}: Connection refused"
    p = jobgate("job", "x", addr=f"unix:{tmp_path}/absent.sock")
    assert p.returncode == 4
    assert error_line(p).startswith("jobgate: CONNECTION_FAILED: cannot connect to unix:")


def test_redis_down_is_unavailable_exit_4(stack, jobgate):
    stack.redis.stop()
    p = jobgate("stats")
    assert p.returncode == 4
    assert error_line(p).startswith("jobgate: UNAVAILABLE: ")


def test_overloaded_gateway_exits_4(stack, jobgate):
    crowded = stack.add_gateway(["--max-connections", "1"])
    with crowded.client() as holder:
        holder.ok({"op": "ping"})  # the one allowed connection is now taken
        p = jobgate("stats", addr=f"tcp://127.0.0.1:{crowded.port}")
    assert p.returncode == 4
    assert error_line(p).startswith("jobgate: OVERLOADED: ")


def test_silent_gateway_times_out_with_exit_4(jobgate):
    # Listening but never accepting: the kernel completes the connect, nothing ever answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        p = jobgate("stats", "--timeout", "0.3", addr=f"tcp://127.0.0.1:{port}", timeout=10)
    assert p.returncode == 4
    assert error_line(p).startswith("jobgate: TIMEOUT: no answer from tcp://127.0.0.1:")


def test_bad_address_is_a_usage_error(jobgate):
    p = jobgate("stats", addr="http://localhost:7700")
    assert p.returncode == 2
    assert error_line(p) == "jobgate: USAGE: --addr http://localhost:7700: expected tcp://HOST:PORT or unix:PATH"


def test_token_gateway(stack, jobgate):
    secured = stack.add_gateway(["--token", "t"])
    addr = f"tcp://127.0.0.1:{secured.port}"

    p = jobgate("stats", addr=addr)
    assert p.returncode == 1
    assert error_line(p).startswith("jobgate: UNAUTHORIZED: ")

    p = jobgate("stats", "--token", "wrong", addr=addr)
    assert p.returncode == 1
    assert error_line(p) == "jobgate: UNAUTHORIZED: wrong token"

    p = jobgate("enqueue", "--token", "t", "-q", "private", "--id", "after-auth", "a.b", addr=addr)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "after-auth\n"

    p = jobgate("job", "after-auth", "--json", addr=addr, env={"JOBGATE_TOKEN": "t"})
    assert p.returncode == 0, p.stderr
    replies = json_lines(p.stdout)
    assert len(replies) == 1, "the auth reply is not printed"
    assert replies[0]["job"]["id"] == "after-auth"

    # Unix sockets are trusted: no token needed, and a configured one is not sent.
    p = jobgate("job", "after-auth", addr=f"unix:{secured.unix}", env={"JOBGATE_TOKEN": "wrong"})
    assert p.returncode == 0, p.stderr
