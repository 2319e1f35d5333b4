"""The `xlcalc` command: argument parsing, then a call into the rest of the package.

Each command group lives in ``xlcalc/commands/<name>.py`` with ``register(subparsers)``, which adds its
parser and sets ``handler`` to a function ``(args) -> int``. Bad input gives a one-line error and exit
status 2: argparse's own errors, and any xlcalc error that is also a ValueError or KeyError (a bad value,
an unknown name, a missing or foreign workbook). Other xlcalc errors (LibreOffice missing or failing:
RecalcError) give a one-line message and exit status 1; so does `xlcalc check` when a workbook disagrees
with the solver.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .commands._output import NEGATIVE_NUMBER
from .errors import XlcalcError

COMMAND_MODULES = ("solve", "workbooks", "fit", "serve")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (usage is one `--help` away) that reads -2e9 or -70B as a value.

    A negative number must reach validation and get its clear message, not argparse's "expected one
    argument"; argparse decides with ``_negative_number_matcher``, whose pattern misses exponents.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every command module registered."""
    parser = _Parser(prog="xlcalc", description="Inference-aware LLM sizing and serving economics.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"xlcalc.commands.{name}").register(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except XlcalcError as exc:
        print(f"xlcalc {args.command}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (ValueError, KeyError)) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and friends, which stopped reading
        # as the Python docs advise: point stdout at devnull so the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
