"""`jobgate debug script`: the Lua function library the gateway loads (and the plain script of
the same lines), numbered so that the line Redis names in a script error can be found, and each
op's script alone (what bench/run's redis-lua target loads)."""
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
        assert re.search(rf"^ *\d+\t(if|elseif) op == '{name}' then$", numbered, re.M), name
    assert re.match(r"     1\t#!lua name=jobgate_[0-9a-f]{16}\n", numbered), numbered[:80]
    assert numbered.split("\n")[1] == "     2\t" + lua_file("prelude").splitlines()[0]


def test_it_is_what_the_gateway_loaded(stack, client):
    client.ok({"op": "ping"})
    r = redis.Redis(unix_socket_path=stack.redis.socket, decode_responses=True)
    [entry] = r.function_list(withcode=True)
    library = dict(zip(entry[::2], entry[1::2]))  # RESP2: a flat list of names and values
    assert library["library_code"] == debug_script("--raw")
    name = library["library_name"]
    functions = {f[f.index("name") + 1]: f[f.index("flags") + 1] for f in library["functions"]}
    assert functions == {name: [], f"{name}_reads": ["no-writes"], f"{name}_heartbeats": ["allow-oom"]}
    plain = debug_script("--plain", "--raw")
    assert plain.splitlines()[1:-1] == debug_script("--raw").splitlines()[1:-1], "the same line numbers"
    assert r.script_exists(hashlib.sha1(plain.encode()).hexdigest(), hashlib.sha1(b"return 1").hexdigest()) == [True, False]


def test_each_script_alone_is_a_library_of_prelude_names_and_body(stack):
    r = redis.Redis(unix_socket_path=stack.redis.socket)
    for name in debug_script("--list").split():
        alone = debug_script("--standalone", name, "--raw")
        prelude, body = lua_file("prelude"), lua_file(name)
        head = f"#!lua name=jobgate_{name}\n"
        assert alone.startswith(head + prelude + "\n"), name
        assert body + "\n" in alone and "\nlocal A = {" in alone and "\nlocal R = {" in alone, name
        assert alone.endswith(f"redis.register_function('jobgate_{name}', function(_, ARGV)\nbegin_call()\nreturn run(ARGV)\nend)\n"), name
        assert r.function_load(alone, replace=True) == f"jobgate_{name}".encode(), name


def test_unknown_script_and_mixed_options_are_usage_errors():
    for args, message in ((["--standalone", "nope"], "no script named 'nope'"), (["--list", "--raw"], "--list takes no other option"),
                          (["--plain", "--standalone", "ack"], "--plain and --standalone exclude each other")):
        p = subprocess.run([jobgate_binary(), "debug", "script", *args], capture_output=True, text=True, timeout=30)
        assert p.returncode == 64 and message in p.stderr, p.stderr
