"""The `xlcalc` command: argument parsing, then a call into the rest of the package.

Each command group lives in ``xlcalc/cli/<name>.py`` with ``register(subparsers)``, which adds its
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

from .. import __version__
from ._output import NEGATIVE_NUMBER
from ..errors import XlcalcError

COMMAND_MODULES = ("solve", "workbooks", "fit", "serve")


GIVEN = "_xlcalc_given"  # namespace entry where _StoreOnce notes the options seen (dropped before the handler)


class _StoreOnce(argparse._StoreAction):
    """An option that takes a value may be given once: ``--loss 1.947 ... --loss 2e12`` is an error, not a
    silent choice of the last one (what a user typed is never dropped)."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = namespace.__dict__.setdefault(GIVEN, {})
        if option_string is not None and self.dest in given:
            raise argparse.ArgumentError(self, f"given twice ({given[self.dest]} and {option_string} "
                                               f"{_shown(values)}): give it once")
        given[self.dest] = f"{option_string} {_shown(values)}"
        super().__call__(parser, namespace, values, option_string)


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (usage is one `--help` away) that reads -2e9 or -70B as a value.

    A negative number must reach validation and get its clear message, not argparse's "expected one
    argument"; argparse decides with ``_negative_number_matcher``, whose pattern misses exponents.
    Options with a value may be given once (:class:`_StoreOnce`); ``--option=--`` gives the option the
    value '--' (Python 3.11's argparse drops it and stores an empty list, which no handler expects).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)

    def _get_values(self, action, arg_strings):
        if action.nargs is None and arg_strings == ["--"] and action.option_strings:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every command module registered."""
    parser = _Parser(prog="xlcalc", description="Inference-aware LLM sizing and serving economics.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"xlcalc.cli.{name}").register(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    vars(args).pop(GIVEN, None)
    if not getattr(args, "handler", None):
        parser.error(f"give a command: {', '.join(sorted(_commands(parser)))} (xlcalc --help tells more)")
    try:
        return int(args.handler(args) or 0)
    except XlcalcError as exc:
        print(f"xlcalc {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, (ValueError, KeyError)) else 1
    except MemoryError:
        print(f"xlcalc {args.command}: error: out of memory", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and friends, which stopped reading
        # as the Python docs advise: point stdout at devnull so the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # writing the output failed: a full disk, a closed terminal
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"xlcalc {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


def _commands(parser) -> list[str]:
    return [name for action in parser._subparsers._group_actions for name in action.choices]


def _one_line(exc: BaseException) -> str:
    """An error message on one line, whatever a value in it held."""
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
