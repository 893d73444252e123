"""What the A/B tools (``platform_ab``, ``goal_ab``) share: driving the original (PyTorch /
gym) code from checkouts the user passes (nothing is vendored or installed; the originals
print spaces and shapes while building), and their JSON-lines results (one row per evaluation
point; a seed's rows are appended together, so a killed batch leaves no partial seed).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the originals print while building, keeping a tool's output clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def add_checkouts(*checkouts: tuple[str, str]) -> None:
    """Put each ``(path, probe)`` checkout on ``sys.path``; exit with a clear error if
    ``path/probe`` is not there (the path is not the checkout asked for)."""
    for path, probe in checkouts:
        if not os.path.isfile(os.path.join(path, probe)):
            raise SystemExit(f"error: {path!r} is not a checkout with {probe}")
        if path not in sys.path:
            sys.path.insert(0, path)


def read_rows(paths: str) -> list[dict[str, Any]]:
    """The rows of comma-separated JSON-lines files."""
    rows = []
    for path in filter(None, paths.split(",")):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def rows_written(path: str) -> list[dict[str, Any]]:
    """The rows already in a tool's output file (none before its first run): what a resumed
    batch skips."""
    return read_rows(path) if os.path.exists(path) else []


def append_rows(path: str, rows: Sequence[dict[str, Any]]) -> None:
    """Append one seed's rows together (no partial seeds in ``path``)."""
    with open(path, "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)


def write_report(path: str, text: str) -> None:
    """Write a Markdown report and show it."""
    with open(path, "w") as f:
        f.write(text)
    print(text)
