"""Smoke test of the benchmark: `bench/run --quick` completes and prints every result line.

It runs against the jobgate binary the other end-to-end suites use (JOBGATE_BIN or .build/), so
it does not build a release binary. Its numbers mean nothing and nothing here checks them: only
that each scenario ran for each target and moved jobs. Loads are kept small (1 s runs, few
connections) because CI runs the suites in parallel.
"""
import os
import subprocess

import pytest

from jobgate_harness import ROOT, jobgate_binary

SCENARIO_TARGETS = {
    "cycle": ["jobgate", "beanstalkd", "redis-lua"],
    "batch": ["jobgate", "redis-lua"],
    "latency": ["jobgate", "beanstalkd", "redis-lua"],
    "idle-conns": ["jobgate", "beanstalkd", "redis-lua"],
}


def parse(stdout):
    results = {}
    for line in stdout.splitlines():
        if not line.startswith("target="):
            continue
        kv = dict(part.split("=", 1) for part in line.split() if "=" in part)
        results[(kv["scenario"], kv["target"])] = kv
    return results


@pytest.mark.timeout(300)
def test_bench_quick_runs_every_scenario_for_every_target(tmp_path):
    results_file = tmp_path / "results.txt"
    proc = subprocess.run(
        [os.path.join(ROOT, "bench", "run"), "--quick", "--jobgate-bin", jobgate_binary(),
         "--duration", "1", "--producers", "2", "--workers", "2", "--rate", "500",
         "--batch", "20", "--samples", "20", "--conns", "200", "--results", str(results_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"bench/run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"

    results = parse(proc.stdout)
    assert results == parse(results_file.read_text())
    expected = {(s, t) for s, targets in SCENARIO_TARGETS.items() for t in targets}
    assert set(results) == expected, proc.stdout

    for (scenario, target), kv in results.items():
        where = f"{scenario}/{target}: {kv}"
        assert kv["errors"] == "0", where
        if scenario in ("cycle", "batch"):
            assert float(kv["jobs_per_s"]) > 0, where
            assert float(kv["enq_p50_us"]) > 0 and float(kv["cycle_p50_us"]) > 0, where
        elif scenario == "latency":
            assert float(kv["achieved_per_s"]) > 0, where
            assert int(kv["wake_samples"]) == 20, where
            assert float(kv["wake_p50_us"]) > 0, where
        else:
            assert int(kv["opened"]) == 200, where
            assert int(kv["rss_after_kb"]) > 0, where

    # The summary table, with a row per metric and the machine it ran on.
    assert "machine: " in proc.stdout
    assert "jobs/s (acked)" in proc.stdout and "wake-up p50 us" in proc.stdout


@pytest.mark.timeout(120)
def test_script_cost_splits_each_hot_op_into_commands_and_lua():
    proc = subprocess.run(
        [os.path.join(ROOT, "bench", "script-cost"), "--jobgate-bin", jobgate_binary(), "--rounds", "20",
         "--repeat", "1", "--ops-per-call", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=110, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"bench/script-cost failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    rows = {}
    for line in proc.stdout.splitlines()[2:]:
        binary, op, total, commands, lua, calls = line.split()
        rows[op] = (float(total), float(commands), float(lua), float(calls))
    assert set(rows) == {"enqueue", "lease", "ack"}, proc.stdout
    for op, (total, commands, lua, calls) in rows.items():
        assert 0 < commands < total and abs(total - commands - lua) < 0.02, (op, proc.stdout)
    # Each op calls Redis for its writes: an enqueue at least its HSET and RPUSH, an ack more.
    assert rows["enqueue"][3] >= 2 and rows["ack"][3] > rows["enqueue"][3], proc.stdout
