"""`jobgate limit`: an operator caps a queue from the command line."""
from cli_helpers import error_line, json_lines


def test_limit_sets_shows_and_clears_caps(jobgate, stack):
    done = jobgate("limit", "emails", "--concurrency", "3", "--rate", "100/60")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "emails: at most 3 started, at most 100 per 60 s; 0 started, 0 in the rate window"
    with stack.client(unix=True) as c:
        assert c.ok({"op": "limit", "queue": "emails"})["concurrency"] == 3
    [reply] = json_lines(jobgate("limit", "emails", "--json").stdout)
    assert reply["rate"] == {"max": 100, "per": 60}
    assert "no concurrency cap, no rate cap" in jobgate("limit", "emails", "--clear").stdout


def test_limit_refuses_bad_options(jobgate):
    bad = jobgate("limit", "emails", "--rate", "lots")
    assert bad.returncode == 64 and "--rate must be M/S" in bad.stderr
    assert jobgate("limit", "emails", "--clear", "--concurrency", "2").returncode == 64
    refused = jobgate("limit", "emails", "--concurrency", "0")
    assert refused.returncode == 2 and error_line(refused).startswith("jobgate: BAD_REQUEST")
