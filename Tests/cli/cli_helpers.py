"""Reading what the operator commands print."""
import json


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def error_line(process):
    """The single `jobgate: CODE: message` line a failed command prints on stderr."""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    return lines[0]
