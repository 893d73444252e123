"""Dispatch: ``pamdp-bench COMMAND [ARGS] [--flag=value ...]``.

Each command has its own argparse parser, declared next to its code (``train.py``,
``results.py``, ``tools.py``): a flag of another command is an error that names it, and
``pamdp-bench COMMAND --help`` lists exactly the flags that command reads. absl is kept for
logging only: ``run`` goes through ``absl.app.run`` so log lines have absl's format and INFO
verbosity, as before; ``--verbosity`` (every command) changes the level.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from absl import app, flags, logging

from pamdp_bench.cli import datasets, results, tools, train
from pamdp_bench.cli.common import Command, bool_flag_names, normalize_bools

ALL: tuple[Command, ...] = (*train.COMMANDS, *results.COMMANDS, *datasets.COMMANDS,
                            *tools.COMMANDS)
BY_NAME = {c.name: c for c in ALL}
COMMANDS = tuple(BY_NAME)
PROG = "pamdp-bench"

EXIT_CODES = ("Exit codes: 0 ok, 1 a check failed (conformance, verify), 2 bad input (unknown "
              "ids, malformed files, refused runs, flags the command does not take).")


def overview() -> str:
    """``pamdp-bench --help``: every command with its one line."""
    lines = [f"usage: {PROG} COMMAND [ARGS] [--flag=value ...]", "", "Commands:"]
    lines += [f"  {c.name:<12} {c.summary}" for c in ALL]
    lines += ["", f"`{PROG} COMMAND --help` lists the flags of COMMAND. {EXIT_CODES}"]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse with this CLI's error format: ``error: pamdp-bench CMD: ...``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message}\n(`{self.prog} --help` lists its flags)\n")


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument("--verbosity", type=int, metavar="V",
                   help="absl logging verbosity: -1 warnings only, 0 info (default), 1 debug")
    p.add_argument("--helpfull", action="help", help=argparse.SUPPRESS)  # absl's spelling
    return p


def command_parser(command: Command) -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} {command.name}", description=command.summary,
                     usage=f"%(prog)s {command.usage}".rstrip(), parents=[_common()],
                     allow_abbrev=False, epilog=f"Flags take --flag=value or --flag value. "
                     f"{EXIT_CODES}")
    command.add_arguments(parser)
    return parser


def _owners(flag: str, parsers: dict[str, argparse.ArgumentParser]) -> list[str]:
    """The commands that list ``flag`` in their help."""
    return [name for name, p in parsers.items()
            if any(flag in a.option_strings and a.help != argparse.SUPPRESS
                   for a in p._actions)]


def parse(argv: Sequence[str]) -> tuple[Command, argparse.Namespace] | int:
    """``argv`` (program name first) -> the command and its flags, or an exit code when there
    is nothing to run (help printed: 0; bad input, message printed: 2)."""
    args = list(argv[1:])
    if not args:
        print(overview(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help", "--helpfull"):
        print(overview())
        return 0
    if args[0] not in BY_NAME:
        print(overview(), file=sys.stderr)
        print(f"error: unknown command {args[0]!r}; choose from {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    command = BY_NAME[args[0]]
    parser = command_parser(command)
    rest = normalize_bools(args[1:], bool_flag_names(parser))
    try:
        ns, unknown = parser.parse_known_intermixed_args(rest)  # ids after flags too
        if unknown:
            flag = unknown[0].split("=", 1)[0]
            if not flag.startswith("-"):
                parser.error(f"unexpected argument {unknown[0]!r}")
            parsers = {c.name: command_parser(c) for c in ALL if c is not command}
            owners = _owners(flag, parsers)
            where = (f"it is a flag of {', '.join(owners)}" if owners
                     else "no command has it")
            parser.error(f"{flag} is not a flag of {command.name} ({where})")
    except SystemExit as done:  # argparse: --help (0) or a usage error (2), already printed
        return done.code if isinstance(done.code, int) else 2
    return command, ns


def execute(command: Command, ns: argparse.Namespace) -> int:
    """Run a parsed command; a ValueError (bad ids, malformed files, refused runs) or an OSError
    (unwritable or misdirected paths, a full disk) is a one-line message and exit 2, no
    traceback."""
    if ns.verbosity is not None:
        logging.set_verbosity(ns.verbosity)
    try:
        return command.run(ns)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # --out at a file, an unwritable path, a full disk: no traceback
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 2


def main(argv: Sequence[str]) -> int:
    """Parse ``argv`` (program name first) and run; returns the exit code."""
    parsed = parse(argv)
    return parsed if isinstance(parsed, int) else execute(*parsed)


def run(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: exits with the command's code."""
    argv = list(sys.argv if argv is None else argv)

    def flags_parser(argv: list[str]) -> tuple[Command, argparse.Namespace]:
        parsed = parse(argv)
        if isinstance(parsed, int):
            sys.exit(parsed)
        flags.FLAGS(argv[:1])  # absl reads none of our flags; it only sets up its logging
        return parsed

    app.run(lambda parsed: execute(*parsed), argv=argv, flags_parser=flags_parser)
