"""`xlcalc fit` and reading training runs from CSV (xlcalc.data.runs): tables, JSON, column choice, one-line errors."""

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from xlcalc import DataFileError
from xlcalc.core.laws import loss
from xlcalc.data.runs import read_runs

from test_cli_solve import run_checked  # tests/ is on sys.path, as for `reference`

RUNS_CSV = pathlib.Path(__file__).parent / "data" / "mosaic_training_runs.csv"
MINIMUM = (1.462963, 35.38830, 133.0199, 0.1788381, 0.2316019)  # tests/test_fitting.py


def run(capsys, *argv):
    """Exit status, stdout and stderr of the CLI run in-process (warnings are errors)."""
    return run_checked(capsys, argv)


def write(tmp_path, text, name="runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def sweep_csv(tmp_path, header="name,params,tokens,loss", fit="chinchilla"):
    """A noise-free sweep of 3 sizes x 3 token counts from a published law."""
    lines = [header]
    for n in (1e8, 1e9, 1e10):
        for d in (2e9, 2e10, 2e11):
            lines.append(f"run{int(n / 1e6)}M-{int(d / 1e9)}B,{n:g},{d:g},{loss(n, d, fit=fit)!r}")
    return write(tmp_path, "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def mosaic_json():
    result = subprocess.run([sys.executable, "-m", "xlcalc.cli", "fit", str(RUNS_CSV), "--json"],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


class TestReadRuns:
    def test_the_papers_file(self):
        runs = read_runs(RUNS_CSV)
        assert runs.columns == {"params": "Parameters", "tokens": "Tokens", "loss": "Smoothed Loss"}
        assert len(runs.names) == 47 and runs.names[0] == "150M" and runs.names[-1] == "6B"
        assert runs.params[0] == 151e6 and runs.tokens[-1] == 121e9 and runs.losses[0] == 3.6832035779953

    def test_named_columns_comments_blank_lines_and_bom(self, tmp_path):
        path = tmp_path / "runs.csv"
        path.write_bytes("\ufeff# sweep of 2026-11\n\nN params,D,final loss,L\n1e8,2e9,3.5,9\n\n2e8,4e9,3.3,9\n"
                         .encode("utf-8"))
        runs = read_runs(path, params_col="n_params", tokens_col="D", loss_col="final loss")
        assert runs.params.tolist() == [1e8, 2e8] and runs.losses.tolist() == [3.5, 3.3]
        assert runs.columns == {"params": "N params", "tokens": "D", "loss": "final loss"}
        assert runs.names == ["line 4", "line 6"]

    @pytest.mark.parametrize("text,options,message", [
        ("params,tokens\n1,2\n", {}, r"no column for the final loss \(tried .*\); name it with --loss-col; "
                                     r"the columns are 'params', 'tokens'"),
        ("params,tokens,loss\n1,2,3\n", {"loss_col": "eval"}, "no column 'eval' for the final loss"),
        ("params,tokens,loss\n1e8,2e9,3.1\n1e8,abc,3.0\n", {}, r"line 3: tokens = 'abc' is not a number"),
        ("params,tokens,loss\n1e8,2e9,-3\n", {}, "line 2: loss = -3 is not allowed: must be a number > 0"),
        ("params,tokens,loss\n1e8,2e9,nan\n", {}, "line 2: loss = nan is not allowed"),
        ("params,tokens,loss\n1e8,2e9\n", {}, "line 2: no value in column 'loss'"),
        ("params,tokens,loss\n", {}, "has a header but no runs"),
        ("# only a comment\n", {}, "no header row and no runs"),
    ])
    def test_errors_name_the_file_and_line(self, tmp_path, text, options, message):
        path = write(tmp_path, text)
        with pytest.raises(DataFileError, match=message) as error:
            read_runs(path, **options)
        assert str(error.value).startswith(str(path))

    def test_semicolons_and_decimal_commas_of_european_excel(self, tmp_path):
        path = write(tmp_path, "# Excel, German locale\nname;params;tokens;loss\nsmall;1,5e8;3.000.000.000;3,5\n"
                               "big;1.000.000.000;3e10;2,75\n")
        runs = read_runs(path)
        assert runs.params.tolist() == [1.5e8, 1e9] and runs.tokens.tolist() == [3e9, 3e10]
        assert runs.losses.tolist() == [3.5, 2.75] and runs.names == ["small", "big"]

    def test_tabs(self, tmp_path):
        runs = read_runs(write(tmp_path, "params\ttokens\tloss\n1e8\t2e9\t3.25\n"))
        assert runs.losses.tolist() == [3.25]

    def test_commas_win_over_a_semicolon_inside_a_field(self, tmp_path):
        runs = read_runs(write(tmp_path, 'name,params,tokens,loss\n"a;b",1e8,2e9,3.25\n'))
        assert runs.names == ["a;b"] and runs.losses.tolist() == [3.25]

    @pytest.mark.parametrize("text,options,message", [
        ("params,tokens,loss,Loss\n1,2,3,4\n", {},
         r"the column for the final loss is ambiguous: columns 3 \('loss'\) and 4 \('Loss'\) have the same name"),
        ("params,tokens,loss,loss\n1,2,3,4\n", {"loss_col": "loss"}, r"columns 3 \('loss'\) and 4 \('loss'\)"),
        ("N,tokens,loss,n\n1,2,3,4\n", {}, "the column for parameters is ambiguous"),
        ("params,tokens,loss\n1,2,3\n", {"params_col": "tokens"}, "column 'tokens' is chosen for both params and tokens"),
    ])
    def test_ambiguous_columns(self, tmp_path, text, options, message):
        with pytest.raises(DataFileError, match=message):
            read_runs(write(tmp_path, text), **options)

    def test_missing_and_binary_files(self, tmp_path):
        with pytest.raises(DataFileError, match="no such file"):
            read_runs(tmp_path / "absent.csv")
        binary = tmp_path / "runs.xlsx"
        binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81")
        with pytest.raises(DataFileError, match="not a text CSV file"):
            read_runs(binary)

    def test_quoted_newline_in_a_name_and_true_line_numbers(self, tmp_path):
        path = write(tmp_path, '# sweep\nname,params,tokens,loss\n"small\n# not a comment",1e8,2e9,3.5\n\n'
                               "2e8,,4e9,3.3\n")
        with pytest.raises(DataFileError, match=r"runs\.csv line 6: no value in column 'params'"):
            read_runs(path)
        path.write_text(path.read_text().replace("2e8,,4e9", ",2e8,4e9"))
        runs = read_runs(path)
        assert runs.names == ["small\n# not a comment", "line 6"] and runs.params.tolist() == [1e8, 2e8]

    def test_the_line_of_bytes_that_are_not_utf8(self, tmp_path):
        path = tmp_path / "runs.csv"
        path.write_bytes("name;params;tokens;loss\nsmall;1e8;2e9;3,5\nmün;2e8;4e9;3,3\n".encode("cp1252"))
        with pytest.raises(DataFileError, match=r"runs\.csv line 3: not a text CSV file \(it is not UTF-8"):
            read_runs(path)


class TestFitCommand:
    def test_table_of_the_fit_and_residuals(self, capsys, tmp_path):
        code, out, err = run(capsys, "fit", sweep_csv(tmp_path))
        assert code == 0 and err == ""
        assert re.search(r"^E\s+1\.69$", out, re.M) and re.search(r"^alpha\s+0\.336$", out, re.M)
        assert re.search(r"4500 starts scored, the best 64 descended, \d+ converged", out)
        assert "use it: --fit 1.69,406.4,410.7,0.336,0.283" in out
        assert re.search(r"^run100M-2B\s+100M\s+2B\s+\d\.\d{4}\s+\d\.\d{4}\s+[+-]0\.0000$", out, re.M)

    def test_the_fit_can_be_used_by_solve(self, capsys, tmp_path):
        _, out, _ = run(capsys, "fit", sweep_csv(tmp_path, fit="epoch2024"))
        fit = re.search(r"use it: --fit (\S+)", out).group(1)
        code, out, _ = run(capsys, "solve", "chinchilla", "--compute", "1e24", "--fit", fit, "--json")
        assert code == 0 and json.loads(out)["params"] == pytest.approx(
            json.loads(run(capsys, "solve", "chinchilla", "--compute", "1e24", "--fit", "epoch2024", "--json")[1])
            ["params"], rel=1e-5)

    def test_json_on_the_47_real_runs(self, mosaic_json):
        assert mosaic_json["runs"] == 47 and mosaic_json["starts"] == 4500 and mosaic_json["descended"] == 64
        assert 0 < mosaic_json["converged"] <= 64
        assert mosaic_json["columns"] == {"params": "Parameters", "tokens": "Tokens", "loss": "Smoothed Loss"}
        got = [mosaic_json["fit"][k] for k in ("E", "A", "B", "alpha", "beta")]
        np.testing.assert_allclose(got, MINIMUM, rtol=1e-5)
        assert mosaic_json["intervals"] is None and mosaic_json["delta"] == 1e-3
        first = mosaic_json["residuals"][0]
        assert first["name"] == "150M" and first["loss"] == 3.6832035779953
        assert first["residual"] == pytest.approx(np.log(first["predicted"] / first["loss"]), abs=1e-12)

    def test_bootstrap_intervals(self, capsys, tmp_path):
        code, out, _ = run(capsys, "fit", sweep_csv(tmp_path), "--bootstrap", "30", "--seed", "1", "--json")
        data = json.loads(out)
        assert code == 0 and data["bootstrap"] == 30 and data["confidence"] == 0.95
        low, high = data["intervals"]["alpha"]
        assert low <= data["fit"]["alpha"] <= high
        code, out, _ = run(capsys, "fit", sweep_csv(tmp_path), "--bootstrap", "30")
        assert code == 0 and "95% interval (30 resamples)" in out

    def test_a_semicolon_file(self, capsys, tmp_path):
        text = sweep_csv(tmp_path).read_text().replace(",", ";").replace(".", ",")
        code, out, _ = run(capsys, "fit", write(tmp_path, text, "semicolons.csv"), "--json")
        assert code == 0 and json.loads(out)["fit"]["alpha"] == pytest.approx(0.336, rel=1e-8)

    def test_column_options(self, capsys, tmp_path):
        path = sweep_csv(tmp_path, header="model,size,data,ppl")
        code, out, _ = run(capsys, "fit", path, "--params-col", "size", "--tokens-col", "data", "--loss-col", "ppl",
                           "--json")
        assert code == 0 and json.loads(out)["fit"]["E"] == pytest.approx(1.69, rel=1e-8)


class TestFitErrors:
    @pytest.mark.parametrize("make,options,message", [
        (lambda tmp: tmp / "absent.csv", [], "absent.csv: no such file"),
        (lambda tmp: sweep_csv(tmp), ["--loss-col", "ppl"], "no column 'ppl' for the final loss"),
        (lambda tmp: sweep_csv(tmp, header="model,size,data,ppl"), [], "no column for parameters"),
        (lambda tmp: write(tmp, "params,tokens,loss\n1e8,2e9,3\n1e9,x,2\n"), [],
         "line 3: tokens = 'x' is not a number"),
        (lambda tmp: write(tmp, "params,tokens,loss\n1e8,2e9,3\n1e9,2e10,2\n"), [], "2 runs is too few"),
        (lambda tmp: sweep_csv(tmp), ["--bootstrap", "-3"], "'-3' is not a whole number >= 0"),
        (lambda tmp: sweep_csv(tmp), ["--delta", "0"], "'0' is not a number > 0"),
    ])
    def test_one_line_error_exit_2(self, capsys, tmp_path, make, options, message):
        code, out, err = run(capsys, "fit", make(tmp_path), *options)
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1
        assert re.search(message, err)

    def test_no_traceback_from_the_console_script(self, tmp_path):
        result = subprocess.run([sys.executable, "-m", "xlcalc.cli", "fit", str(tmp_path / "none.csv")],
                                capture_output=True, text=True)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and "no such file" in result.stderr


def sweep_rows(losses_of):
    n, d = (a.ravel() for a in np.meshgrid([1e8, 1e9, 1e10], [2e9, 2e10, 2e11]))
    return "params,tokens,loss\n" + "".join(f"{a:g},{b:g},{losses_of(a, b)!r}\n" for a, b in zip(n, d))


BAD_FIT_ARGUMENTS = [
    ("sweep", ["--bootstrap", "2", "--seed=-1"], "argument --seed: '-1' is not a whole number >= 0"),
    ("sweep", ["--seed", "abc"], "argument --seed: 'abc' is not a whole number >= 0"),
    ("sweep", ["--seed", "1.5"], "argument --seed: '1.5' is not a whole number"),
    ("sweep", ["--bootstrap", "2.0"], "argument --bootstrap: '2.0' is not a whole number"),
    ("sweep", ["--bootstrap", "-2e9"], "argument --bootstrap: '-2e9' is not a whole number"),
    ("sweep", ["--bootstrap", "1000001"], "bootstrap = 1000001 is not allowed: must be a whole number from 0 to"),
    ("sweep", ["--delta", "-1e-3"], "argument --delta: '-1e-3' is not a number > 0"),
    ("sweep", ["--delta", "nan"], "argument --delta: 'nan' is not a number > 0"),
    ("sweep", ["--delta", "inf"], "delta = inf is not allowed"),
    ("sweep", ["--params-col"], "expected one argument"),
    ("sweep", ["--params-col", "size"], "no column 'size' for parameters"),
    ("sweep", ["--nosuch"], "unrecognized arguments: --nosuch"),
    (None, [], "required: RUNS.csv"),
    ("", [], "no header row and no runs"),
    ("params;tokens;loss\n1e8;2e9;abc\n", [], "line 2: loss = 'abc' is not a number"),
    ("params,tokens,loss,loss\n1,2,3,4\n", [], "the column for the final loss is ambiguous"),
    ("params,tokens,loss\n" + "1e8,2e9,3.0\n" * 5, [], r"params has a single value \(1e\+08\) in every run"),
    ("rising", [], r"the runs do not determine a scaling law: the best fit has alpha = -0\.\d+ \(must be"),
]


class TestBadFitArguments:
    """Every bad argument or file gives one line on stderr and exit status 2: no traceback, no warning."""

    @pytest.mark.parametrize("content,options,message", BAD_FIT_ARGUMENTS,
                             ids=[f"{str(c)[:20]!r} {' '.join(o)}" for c, o, _ in BAD_FIT_ARGUMENTS])
    def test_one_line_exit_2(self, capsys, tmp_path, content, options, message):
        if content == "sweep":
            files = [sweep_csv(tmp_path)]
        elif content == "rising":
            files = [write(tmp_path, sweep_rows(lambda n, d: 6.0 - loss(n, d)))]
        else:
            files = [] if content is None else [write(tmp_path, content)]
        code, out, err = run(capsys, "fit", *files, *options)
        assert code == 2 and out == ""
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert re.search(message, err), err

    def test_a_directory(self, capsys, tmp_path):
        code, _, err = run(capsys, "fit", tmp_path)
        assert code == 2 and "cannot be read" in err and len(err.splitlines()) == 1

    def test_the_console_script(self, tmp_path):
        result = subprocess.run([sys.executable, "-m", "xlcalc.cli", "fit", str(sweep_csv(tmp_path)), "--bootstrap",
                                 "2", "--seed=-1"], capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr

    def test_rising_losses_print_no_fit_that_solve_would_reject(self, capsys, tmp_path):
        path = write(tmp_path, sweep_rows(lambda n, d: 6.0 - loss(n, d)))
        code, out, err = run(capsys, "fit", path)
        assert code == 2 and "use it" not in out and "losses must fall as params and tokens grow" in err
