"""Fuzzing the `xlcalc` command line: every solve kind and `fit` fully, build/refresh/check by their arguments.

A valid command line per command is mutated at random: values replaced by hostile text ('', '--', 'nan',
'1e400', '5e-324', 400 digits, '-70B', stray commas), ``--opt=value`` forms, options given twice or dropped,
a bare '--', unknown options; `fit` also gets hostile files (empty, binary, huge, a folder, /dev/zero, a
FIFO). Every run either succeeds (exit 0, nothing on stderr) or fails with exactly one line on stderr and
exit status 1 or 2, never a traceback. The runs are in-process (``xlcalc.cli.main``); a few go through a
real ``python -m xlcalc.cli`` to check the exit status the shell sees. build/refresh/check are fuzzed only
in their arguments, with paths that do not exist (no LibreOffice, no workbook written).
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import random
import re
import subprocess
import sys
import warnings

import pytest

from xlcalc.cli import build_parser, main
from fuzz_values import CALLS, REPLAY, SEED

RUNS = pathlib.Path(__file__).parent / "data" / "mosaic_training_runs.csv"
HOSTILE_TEXT = ("", " ", "--", "-", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "5e-324", "1e-300", "-0", "0",
                "1" * 400, "70B", "-70B", "1.4T", "2_000", "1,2", ",", "x", "0x10", "１２３", "1e", "e5", "--json",
                "-1", "1e308", "chinchilla", "1.69,406.4,410.7,1e-300,0.283", "1.69,406.4,410.7,0.336,0.283,",
                "1,2,3,4,5,6", "\t", "é", "-" * 3 + "x", "10" * 200)
SOLVE = {
    "chinchilla": ["--compute", "1e24"],
    "compute-optimal": ["--loss", "1.947", "--inference-tokens", "2e12"],
    "cost-optimal": ["--chinchilla-params", "70B", "--requests", "2e9", "--input-tokens", "500", "--output-tokens",
                     "500", "--train-usd-per-hour", "2", "--mfu-decode", "0.02"],
    "budget": ["--total-flops", "1e24", "--inference-tokens", "1e13"],
}
OPTIONAL_SOLVE = ["--fit", "epoch2024", "--json"]
ARGUMENTS_ONLY = ("build", "refresh", "check")   # their files are another test's (tests/test_cli_workbooks.py)


def _options(argv: list[str]) -> list[list[str]]:
    """argv as groups: an option with its value, or a flag, or a positional."""
    groups, i = [], 0
    while i < len(argv):
        if argv[i].startswith("--") and i + 1 < len(argv) and not argv[i + 1].startswith("--") \
                and argv[i] != "--json":
            groups.append(argv[i:i + 2])
            i += 2
        else:
            groups.append([argv[i]])
            i += 1
    return groups


def mutate(rng: random.Random, groups: list[list[str]]) -> list[str]:
    """One to three random mutations of a valid command line (as option groups)."""
    groups = [list(g) for g in groups]
    for _ in range(rng.randint(1, 3)):
        if not groups:
            break
        kind = rng.randrange(8)
        index = rng.randrange(len(groups))
        group = groups[index]
        if kind <= 2 and len(group) == 2:              # a hostile value
            group[1] = rng.choice(HOSTILE_TEXT)
        elif kind == 3 and len(group) == 2:            # --opt=value
            groups[index] = [f"{group[0]}={rng.choice((group[1], *HOSTILE_TEXT))}"]
        elif kind == 4:                                # given twice
            groups.insert(rng.randrange(len(groups) + 1), [*group[:1], *(
                [rng.choice(HOSTILE_TEXT)] if len(group) == 2 else [])])
        elif kind == 5:                                # dropped
            groups.pop(index)
        elif kind == 6:                                # a bare '--' or a stray token
            groups.insert(rng.randrange(len(groups) + 1), [rng.choice(("--", "-", "--bogus", "x", "--json"))])
        else:                                          # a value without its option, or an option without value
            groups[index] = group[1:] if len(group) == 2 else [*group, rng.choice(HOSTILE_TEXT)]
    return [part for group in groups for part in group]


def _fit_file(rng: random.Random, folder: pathlib.Path) -> str:
    """A runs file for `fit`: mostly ones that fail fast; a real fit (seconds) only now and then."""
    choice = rng.randrange(40)
    path = folder / f"runs{rng.randrange(10**9)}.csv"
    if choice < 6:
        return rng.choice(("", "/dev/zero", "/dev/urandom", "/dev/null", str(folder), "/nonexistent.csv",
                           str(folder / "fifo")))
    if choice < 12:
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))))
    elif choice < 18:
        path.write_text("params,tokens,loss\n" + "1e9,1e10,3\n" * rng.choice((0, 1, 4, 2_001)))
    elif choice == 18:  # the real runs with one to three fields made hostile: often a full fit
        lines = RUNS.read_text().splitlines()
        for _ in range(rng.randint(1, 3)):
            row = rng.randrange(len(lines))
            fields = lines[row].split(",")
            fields[rng.randrange(len(fields))] = rng.choice(HOSTILE_TEXT)
            lines[row] = ",".join(fields)
        path.write_text("\n".join(lines))
    elif choice < 25:
        path.write_text(rng.choice(('a,"b\n', "params;tokens;loss\n1,5e8;2e9;3\n", "\ufeff", "#\n" * 50,
                                    "params,params,loss\n1,2,3\n", "params,tokens,loss\n1e9,1e10,1e400\n")))
    else:
        return str(RUNS) if rng.random() < 0.02 else str(folder / "absent.csv")
    return str(path)


def command_lines(seed: int, count: int, folder: pathlib.Path):
    """``count`` fuzzed argument lists over every command."""
    rng = random.Random(seed)
    fifo = folder / "fifo"
    if hasattr(os, "mkfifo") and not fifo.exists():
        os.mkfifo(fifo)
    for _ in range(count):
        command = rng.choice(("solve", "solve", "solve", "fit", "fit", "build", "refresh", "check", "top"))
        if command == "solve":
            kind = rng.choice(sorted(SOLVE))
            valid = ["solve", kind, *SOLVE[kind], *(OPTIONAL_SOLVE if rng.random() < 0.3 else [])]
        elif command == "fit":
            path = _fit_file(rng, folder)
            valid = ["fit", path, *rng.choice(([], ["--json"], ["--delta", "0.01"], ["--params-col", "Parameters"],
                                                ["--seed", "3"]))]
            if path == str(RUNS):  # a real fit takes seconds: only its options are fuzzed, cheaply
                argv = mutate(rng, _options(valid))
                if any(a.startswith("--bootstrap") for a in argv) or "--bootstrap" in argv:
                    argv = [a for a in argv if not a.startswith("--bootstrap")]
                yield argv
                continue
            valid += ["--bootstrap", rng.choice(("0", "2", "100001", "-1", "1e3"))]  # a real count only small
        elif command == "build":
            valid = ["build", "--out", str(folder / "out"), "--check"]
        elif command in ("refresh", "check"):
            valid = [command, str(folder / "absent.xlsx"), *(["--json"] if command == "check" else
                                                              ["-o", str(folder / "absent-out.xlsx")])]
        else:
            valid = [rng.choice(("--version", "--help", "solve", "nosuch", ""))]
        yield mutate(rng, _options(valid)) if rng.random() < 0.9 else valid


def run(argv, parse_only=False) -> tuple[int, str, str]:
    """Run the command in-process: exit status, stdout, stderr (warnings count as stderr lines).

    With ``parse_only`` only the arguments are parsed (build, refresh and check: no workbook, no LibreOffice)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = 0 if parse_only and build_parser().parse_args(list(argv)) else main(list(argv))
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 2)
    text = err.getvalue() + "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
    return code, out.getvalue(), text


def problem(argv, code, out, err) -> str | None:
    """What is wrong with one run, or None."""
    if "Traceback" in err or "Traceback" in out or "internal error" in err:
        return f"traceback: {err[-300:]}"
    if code == 0:
        return f"exit 0 but stderr: {err!r:.200}" if err else None
    if code not in (1, 2):
        return f"exit status {code}"
    if len(err.splitlines()) != 1 or not err.startswith("xlcalc"):
        return f"stderr is not one line: {err!r:.400}"
    return None


class TestCommandLine:
    def test_every_command_is_fuzzed(self, tmp_path):
        firsts = {argv[0] if argv else "" for argv in command_lines(SEED, max(CALLS // 2, 300), tmp_path)}
        assert {"solve", "fit", "build", "refresh", "check"} <= firsts

    def test_one_line_and_exit_1_or_2_on_every_failure(self, tmp_path):
        failures = []
        for number, argv in enumerate(command_lines(SEED, max(CALLS // 2, 150), tmp_path)):
            if argv[:1] == ["--help"] or "--help" in argv or "-h" in argv:
                continue  # help is many lines on stdout, exit 0: not a failure
            code, out, err = run(argv, parse_only=bool(argv) and argv[0] in ARGUMENTS_ONLY)
            found = problem(argv, code, out, err)
            if found:
                failures.append(f"run {number}: xlcalc {' '.join(map(repr, argv))[:300]}: {found}")
        assert not failures, f"{len(failures)} bad runs {REPLAY}; first: " + "\n".join(failures[:5])


class TestFindings:
    """Command lines that gave a traceback, a stray warning or a nonsense model before, as plain cases."""

    @pytest.mark.parametrize("argv,message", [
        (["solve", "compute-optimal", "--loss=1.947", "--inference-tokens=--", "--fit=chinchilla", "--loss", "2e12"],
         "argument --inference-tokens: '--' is not a number"),
        (["solve", "compute-optimal", "--loss=1.947", "--loss", "2e12", "--inference-tokens", "1"],
         r"argument --loss: given twice \(--loss 1.947 and --loss 2e\+12\): give it once"),
        (["solve", "chinchilla", "--compute", "1e24", "--fit=--"], "fit = '--' is not a known fit"),
        (["solve", "compute-optimal", "--loss", "2e12", "--inference-tokens", "1"],
         "loss = 2e\\+12, inference_tokens = 1 give a model of under one parameter or under one training token"),
        (["solve", "chinchilla", "--compute", "1e20", "--fit", "1.69,406.4,410.7,1e-300,0.283"], "no real model"),
        (["fit", "/dev/zero"], "/dev/zero: the file cannot be read \\(it is a device, pipe or socket"),
        (["fit", "/dev/urandom"], "not a regular file"),
        (["fit", ""], "the file name is empty"),
        (["fit", str(RUNS), "--params-col", ""], "argument --params-col: '' is not a column name"),
        ([], "give a command: build, check, fit, refresh, serve, solve"),
    ])
    def test_one_line(self, argv, message):
        code, out, err = run(argv)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert re.search(message, err), err

    def test_a_fifo_is_refused_at_once(self, tmp_path):
        fifo = tmp_path / "runs.csv"
        os.mkfifo(fifo)
        code, _, err = run(["fit", str(fifo)])
        assert code == 2 and "not a regular file" in err

    def test_a_million_runs_are_refused_before_fitting(self, tmp_path):
        big = tmp_path / "big.csv"
        big.write_text("params,tokens,loss\n" + "1e9,1e10,3\n" * 1_000_000)
        code, _, err = run(["fit", str(big)])
        assert code == 2 and "more than 2,000 runs" in err

    def test_a_huge_file_is_refused_by_its_size(self, tmp_path):
        huge = tmp_path / "huge.csv"
        with open(huge, "wb") as file:
            file.truncate(65 * 2**20)  # sparse: no disk used
        code, _, err = run(["fit", str(huge)])
        assert code == 2 and "68,157,440 bytes, more than the 64 MiB" in err

    @pytest.mark.parametrize("argv", [
        ["solve", "compute-optimal", "--loss=1.947", "--inference-tokens=--"],
        ["fit", "/dev/zero"],
        ["solve", "chinchilla", "--compute", "1e20", "--fit", "1.69,406.4,410.7,1e-300,0.283"],
    ])
    def test_what_the_shell_sees(self, argv):
        result = subprocess.run([sys.executable, "-m", "xlcalc.cli", *argv], capture_output=True, text=True,
                                timeout=60, cwd=pathlib.Path(__file__).parent.parent)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stdout == ""
