"""`jobgate debug script`: the Lua script the gateway loads, numbered so that the line Redis names
in a script error can be found, and each op's script alone (what bench/run's redis-lua target loads)."""
import hashlib
import os
import re
import subprocess

import redis

from jobgate_harness import jobgate_binary

LUA = os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "JobgateServer", "Store", "lua")


def debug_script(*args):
    p = subprocess.run([jobgate_binary(), "debug", "script", *args], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def lua_file(name):
    with open(os.path.join(LUA, f"{name}.lua")) as f:
        return f.read()


def test_numbered_lines_are_the_raw_script_with_their_numbers():
    raw = debug_script("--raw").splitlines()
    numbered = debug_script().splitlines()
    assert len(numbered) == len(raw) > 100
    for index, (line, plain) in enumerate(zip(numbered, raw)):
        match = re.fullmatch(r" *(\d+)\t(.*)", line)
        assert match, line
        assert int(match.group(1)) == index + 1 and match.group(2) == plain


def test_the_script_runs_every_listed_script_by_name():
    names = debug_script("--list").split()
    assert {"enqueue", "lease", "ack", "sweep"} <= set(names) and len(names) == len(set(names))
    numbered = debug_script()
    for name in names:
        assert re.search(rf"^ *\d+\t(if|elseif) op == '{name}' then", numbered, re.M), name
    assert numbered.startswith("     1\t" + lua_file("prelude").splitlines()[0] + "\n")


def test_it_is_the_script_the_gateway_loaded(stack, client):
    client.ok({"op": "ping"})
    sha = hashlib.sha1(debug_script("--raw").encode()).hexdigest()
    assert stack.redis.raw("SCRIPT", "EXISTS", sha).split() == [b"1"]
    assert stack.redis.raw("SCRIPT", "EXISTS", hashlib.sha1(b"return 1").hexdigest()).split() == [b"0"]


def test_each_script_alone_is_prelude_names_and_body_and_compiles(stack):
    r = redis.Redis(unix_socket_path=stack.redis.socket)
    for name in debug_script("--list").split():
        alone = debug_script("--standalone", name, "--raw")
        prelude, body = lua_file("prelude"), lua_file(name)
        assert alone.startswith(prelude + "\nlocal A = {") and alone.endswith(body), name
        assert "\nlocal R = {" in alone[len(prelude):-len(body)], name
        assert len(r.script_load(alone)) == 40, name


def test_unknown_script_and_mixed_options_are_usage_errors():
    for args, message in ((["--standalone", "nope"], "no script named 'nope'"), (["--list", "--raw"], "--list takes no other option")):
        p = subprocess.run([jobgate_binary(), "debug", "script", *args], capture_output=True, text=True, timeout=30)
        assert p.returncode == 64 and message in p.stderr, p.stderr
