"""The ``pamdp-bench`` command line: ``pamdp-bench COMMAND [ARGS] [--flag=value ...]``.

``pamdp-bench --help`` lists the commands, ``pamdp-bench COMMAND --help`` a command's flags.
Modules: ``main`` (dispatch, help, errors), ``train`` (train, eval), ``results`` (table,
submit, verify, leaderboard), ``tools`` (conformance, bench, render, envs), ``common`` (shared
flag helpers). Exit codes: 0 ok, 1 a check failed (conformance, verify), 2 bad input.
"""

from __future__ import annotations

from pamdp_bench.cli.main import COMMANDS, main, run
from pamdp_bench.cli.train import train_cli

__all__ = ["COMMANDS", "main", "run", "train_cli"]

if __name__ == "__main__":
    run()
