"""The clients under test: their paths, and the Python module itself.

A module of its own (not conftest) so that tests import it by a name no other suite uses.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENTS = os.path.join(ROOT, "clients")
sys.path.insert(0, os.path.join(CLIENTS, "python"))

import jobgate  # noqa: E402,F401  (needs the path above)

WORK = os.path.join(CLIENTS, "sh", "jobgate-work")
ENQUEUE = os.path.join(CLIENTS, "sh", "jobgate-enqueue")
EXAMPLES = os.path.join(CLIENTS, "examples")
