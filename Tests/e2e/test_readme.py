"""The README's nc session, pasted into bash against a real gateway (only the port differs)."""
import json
import os
import re
import subprocess

from jobgate_harness import ROOT


def test_readme_nc_session_works(stack, tmp_path):
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = readme.split("## Try it with nc", 1)[1]
    script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    script = script.replace("127.0.0.1 7700", f"127.0.0.1 {stack.gateway.port}")
    script = script.replace("/tmp/lease.json", str(tmp_path / "lease.json"))
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    replies = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [r["ok"] for r in replies] == [True] * 4
    enqueued, leased, acked, looked_up = replies
    assert leased["job"]["id"] == enqueued["id"] and leased["job"]["args"] == ["world"]
    assert acked["state"] == "finished"
    assert looked_up["job"]["state"] == "finished" and looked_up["job"]["result"] == "hi world"
