"""What the README tells a user to install besides the binary: shell completions and the man
page, both produced from the command-line parser; and where a usage error points."""
import os
import subprocess

import pytest

from jobgate_harness import ROOT, jobgate_binary

SUBCOMMANDS = ("serve", "stats", "enqueue", "job", "result", "failed", "requeue", "cancel", "delete",
               "pause", "resume", "version")


def completion_script(shell):
    p = subprocess.run([jobgate_binary(), "--generate-completion-script", shell], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_name_every_subcommand(shell):
    script = completion_script(shell)
    for name in SUBCOMMANDS:
        assert name in script, (shell, name)


def test_bash_completion_loads_and_completes_subcommands(tmp_path):
    script = tmp_path / "jobgate.bash"
    script.write_text(completion_script("bash"))
    # What a user's shell does on `jobgate re<TAB>`, after the README's install step.
    probe = f"""
        source {script}
        COMP_WORDS=(jobgate re); COMP_CWORD=1; COMP_LINE="jobgate re"; COMP_POINT=${{#COMP_LINE}}
        $(complete -p jobgate | sed -E 's/.*-F ([^ ]+).*/\\1/') jobgate re jobgate
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    p = subprocess.run(["bash", "-c", probe], capture_output=True, text=True,
                       env={**os.environ, "PATH": os.path.dirname(jobgate_binary()) + os.pathsep + os.environ["PATH"]})
    assert p.returncode == 0, p.stderr
    assert {"requeue", "resume", "result"} <= set(p.stdout.split()), p.stdout


def test_man_page_is_generated_by_the_readme_command(tmp_path):
    # The README's command, with a scratch directory of its own so it never waits on the tree's
    # .build lock held by a concurrent build.
    p = subprocess.run(["swift", "package", "--package-path", ROOT, "--scratch-path", str(tmp_path / "build"),
                        "plugin", "generate-manual", "--configuration", "debug"],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout + p.stderr
    page = (tmp_path / "build" / "plugins" / "GenerateManual" / "outputs" / "jobgate" / "jobgate.1").read_text()
    assert ".Dt JOBGATE 1" in page and ".Sh NAME" in page
    for name in SUBCOMMANDS:
        assert f"\n.It Em {name}\n" in page, name


@pytest.mark.parametrize("args", [["serve", "--log-level", "loud"], ["--log-level", "loud"],
                                  ["serve", "--listen", "ftp://x"]])
def test_serve_usage_errors_point_at_serve_help(args, tmp_path):
    p = subprocess.run([jobgate_binary(), *args], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert p.returncode == 64
    assert "See 'jobgate serve --help'" in p.stderr, p.stderr
    assert "Usage: jobgate <subcommand>" not in p.stderr
