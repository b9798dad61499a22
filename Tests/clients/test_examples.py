"""clients/examples/produce.*: each language's one-line producer, actually run."""
import os
import re
import shutil
import subprocess

import pytest

from clients_under_test import EXAMPLES, CLIENTS

EXAMPLES_BY_LANG = {
    "python": ("produce.py", "python3"),
    "node": ("produce.js", "node"),
    "perl": ("produce.pl", "perl"),
    "bash": ("produce.sh", "bash"),
}


@pytest.mark.parametrize("transport", ["tcp", "unix"])
@pytest.mark.parametrize("lang", sorted(EXAMPLES_BY_LANG))
def test_example_enqueues_a_job(jg, addr, unix_addr, lang, transport):
    script, interpreter = EXAMPLES_BY_LANG[lang]
    if lang == "bash" and not (shutil.which("nc") and shutil.which("jq")):
        pytest.skip("produce.sh needs nc and jq")
    if not shutil.which(interpreter):
        pytest.skip(f"{interpreter} is not installed")
    env = {**os.environ, "JOBGATE_ADDR": addr if transport == "tcp" else unix_addr}
    r = subprocess.run([interpreter, os.path.join(EXAMPLES, script), f"from-{lang}"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    job_id = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", job_id)
    j = jg.job(job_id)
    assert j["queue"] == f"from-{lang}" and j["func"] == "mail.send"
    assert j["args"] == ["ada@example.com"] and j["kwargs"] == {"lang": lang}


@pytest.mark.parametrize("lang", sorted(EXAMPLES_BY_LANG))
def test_example_reports_an_error_reply(addr, lang):
    script, interpreter = EXAMPLES_BY_LANG[lang]
    if not shutil.which(interpreter):
        pytest.skip(f"{interpreter} is not installed")
    r = subprocess.run([interpreter, os.path.join(EXAMPLES, script), "not a queue name"],
                       capture_output=True, text=True, timeout=30,
                       env={**os.environ, "JOBGATE_ADDR": addr})
    assert r.returncode != 0 and "BAD_REQUEST" in r.stderr


@pytest.mark.parametrize("script", sorted(s for s, _ in EXAMPLES_BY_LANG.values()))
def test_readme_shows_each_example_verbatim(script):
    with open(os.path.join(CLIENTS, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(EXAMPLES, script)) as f:
        source = f.read()
    assert source in readme, f"README.md is out of date for examples/{script}"
