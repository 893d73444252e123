"""What the command modules share: the ``Command`` record, flag value parsers, absl-style bool
flags, and the agent-spec / env-id helpers.

Nothing here imports jax: ``pamdp-bench --help`` and flag errors stay fast.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence

# absl spelled booleans this way; `--flag=VALUE` keeps working for the bool flags below.
_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


@dataclasses.dataclass(frozen=True)
class Command:
    """One ``pamdp-bench`` command: ``add_arguments`` declares its flags, ``run`` returns the
    exit code. ``summary`` is its line in ``pamdp-bench --help``."""

    name: str
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    usage: str = ""


def comma_list(text: str) -> list[str]:
    """``A,B`` -> ``["A", "B"]`` (absl's list flags: comma separated, blanks dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def int_list(text: str) -> list[int]:
    try:
        return [int(item) for item in comma_list(text)]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"not a comma separated list of integers: {text!r}") from err


def add_bool(parser: argparse.ArgumentParser, name: str, help: str, *,
             default: bool = False, negation_shown: bool = False) -> None:
    """An absl-style bool flag: ``--NAME`` sets it, ``--noNAME`` clears it (listed in the help
    only when ``negation_shown``); ``--NAME=true|false`` is rewritten to one of the two by
    ``normalize_bools`` before parsing."""
    parser.add_argument(f"--{name}", dest=name, action="store_true", default=default, help=help)
    parser.add_argument(f"--no{name}", dest=name, action="store_false",
                        help=f"clear --{name}" if negation_shown else argparse.SUPPRESS)


def bool_flag_names(parser: argparse.ArgumentParser) -> set[str]:
    """Names of the bool flags ``add_bool`` gave ``parser``."""
    return {action.dest for action in parser._actions
            if isinstance(action, argparse._StoreTrueAction)}


def normalize_bools(args: Sequence[str], names: set[str]) -> list[str]:
    """``--NAME=true`` -> ``--NAME``, ``--NAME=false`` -> ``--noNAME`` for the bool flags
    ``names`` (absl accepted both forms); any other value is left for the parser to refuse."""
    out = []
    for arg in args:
        flag, eq, value = arg.partition("=")
        if eq and flag.startswith("--") and flag[2:] in names:
            if value.lower() in _TRUE:
                arg = flag
            elif value.lower() in _FALSE:
                arg = f"--no{flag[2:]}"
        out.append(arg)
    return out


def agent_spec(name: str, configs: Sequence[str]) -> str:
    """The agent spec ``name`` with every ``--config field=value`` folded in; a field given in
    both is an error (ValueError)."""
    from pamdp_bench.agents import agent_spec as make_spec
    from pamdp_bench.agents import parse_agent_spec

    base, overrides = parse_agent_spec(name)
    extra = parse_agent_spec(f"{base}[{','.join(configs)}]")[1] if configs else {}
    clash = set(extra) & set(overrides)
    if clash:
        raise ValueError(f"config field(s) {sorted(clash)} given both in the agent spec and in "
                         "--config")
    return make_spec(base, {**overrides, **extra})


def env_ids(envs: list[str] | None, default_all: bool = True) -> list[str] | None:
    """``--env`` as given, else all benchmark envs (``default_all``) or None (the protocol's)."""
    if envs:
        return list(envs)
    if not default_all:
        return None
    from pamdp_bench.registry import BENCHMARK_IDS

    return list(BENCHMARK_IDS)


# Flags several commands declare alike.

def add_env(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--env", type=comma_list, metavar="ID[,ID...]", help=help)


def add_agent_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", action="append", default=[], metavar="FIELD=VALUE",
                        help="agent config override (JSON value; repeatable); folded into the "
                        "agent spec")


def add_run_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="number of seeds (default: the protocol's)")
    parser.add_argument("--budget", type=int, metavar="STEPS",
                        help="override the protocol's env-step budget")
    parser.add_argument("--eval_interval", type=int, metavar="STEPS",
                        help="override the protocol's evaluation interval")
    parser.add_argument("--eval_episodes", type=int, metavar="N",
                        help="override the protocol's evaluation episodes")
