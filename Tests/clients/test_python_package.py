"""clients/python as a package: pip installs it into a fresh venv, and it imports and works
from there (against a real gateway), with its type information."""
import ast
import os
import shutil
import subprocess
import sys

from clients_under_test import CLIENTS

PACKAGE = os.path.join(CLIENTS, "python")


def test_pip_install_into_a_fresh_venv(tmp_path, addr):
    # A copy, so that the build's egg-info does not land in the repository.
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                   "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    r = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        str(source)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    program = ("import os, jobgate\n"
               "print(jobgate.__file__)\n"
               "print(os.path.exists(os.path.join(os.path.dirname(jobgate.__file__), 'py.typed')))\n"
               "print(jobgate.__version__)\n"
               "print(jobgate.Client().ping()['redis'])\n")
    r = subprocess.run([python, "-c", program], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path, env={**os.environ, "JOBGATE_ADDR": addr, "PYTHONPATH": ""})
    assert r.returncode == 0, r.stderr
    location, typed, version, redis = r.stdout.split()
    assert location.startswith(str(venv)) and "site-packages" in location
    assert typed == "True" and version == "0.1.0" and redis == "ready"


def test_modules_parse_as_python_3_8():
    # The package promises Python 3.8+: no syntax from later versions may creep in.
    directory = os.path.join(PACKAGE, "jobgate")
    modules = sorted(name for name in os.listdir(directory) if name.endswith(".py"))
    assert "__init__.py" in modules and "worker.py" in modules
    for name in modules:
        with open(os.path.join(directory, name)) as f:
            ast.parse(f.read(), filename=name, feature_version=(3, 8))
