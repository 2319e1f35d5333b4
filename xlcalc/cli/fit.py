"""`xlcalc fit`: fit L(N, D) = E + A/N^alpha + B/D^beta to training runs in a CSV file; prints the fit and residuals."""

from __future__ import annotations

import argparse
import sys

from ..core.fitting import HUBER_DELTA, PARAMETERS, fit_scaling_law
from ..data.runs import read_runs
from ._output import decimals, human, print_json, print_table
from .ranges import save_fit


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0")
    return value


def _progress_on(stream):
    """A progress(done, total) that rewrites one line on ``stream`` when it is a terminal, else None."""
    if not stream.isatty():
        return None

    def progress(done: int, total: int) -> None:
        line = f"bootstrap: {done:,} of {total:,} resamples refitted"
        stream.write("\r" + (line if done < total else " " * len(line) + "\r"))  # cleared when done
        stream.flush()

    return progress


def _column(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a column name (give the header text of a column)")
    return text


def register(subparsers) -> None:
    """Add the `fit` command."""
    p = subparsers.add_parser(
        "fit", help="fit a scaling law to your own training runs (CSV)",
        description="Fit L(N, D) = E + A/N^alpha + B/D^beta to training runs by the Huber loss of the log "
                    "residuals from the 4,500 starting points of Hoffmann et al. / Sardana et al. The CSV needs "
                    "a header; columns are found by name (Parameters/params, Tokens/tokens, Smoothed Loss/loss) "
                    "unless named with the options. Comma-, semicolon- (then with decimal commas, as European "
                    "Excel exports) and tab-separated files are read.")
    p.add_argument("runs", metavar="RUNS.csv", help="CSV file with one training run per row")
    p.add_argument("--params-col", type=_column, metavar="NAME", help="column with the parameter count N")
    p.add_argument("--tokens-col", type=_column, metavar="NAME", help="column with the training tokens D")
    p.add_argument("--loss-col", type=_column, metavar="NAME", help="column with the final (smoothed) loss")
    p.add_argument("--bootstrap", type=_count, default=0, metavar="N",
                   help="bootstrap resamples for 95%% confidence intervals (default 0: none)")
    p.add_argument("--seed", type=_count, default=0, help="seed of the bootstrap resampling, >= 0 (default 0)")
    p.add_argument("--delta", type=_positive, default=HUBER_DELTA, help=f"Huber delta (default {HUBER_DELTA:g})")
    p.add_argument("--save", metavar="FIT.json",
                   help="write the fit (and its bootstrap samples) to FIT.json, for `xlcalc solve ... --fit FIT.json`")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(handler=_fit)


def _fit(args) -> int:
    runs = read_runs(args.runs, params_col=args.params_col, tokens_col=args.tokens_col, loss_col=args.loss_col)
    result = fit_scaling_law(runs.params, runs.tokens, runs.losses, delta=args.delta, bootstrap=args.bootstrap,
                             seed=args.seed, progress=_progress_on(sys.stderr) if args.bootstrap else None)
    if args.save:
        save_fit(args.save, result, name=args.save, source=f"xlcalc fit {runs.path} --bootstrap {args.bootstrap}")
    table = [[name, runs.params[i], runs.tokens[i], runs.losses[i], float(result.predicted_losses[i]),
              float(result.residuals[i])] for i, name in enumerate(runs.names)]
    if args.json:
        print_json({
            "file": runs.path, "columns": runs.columns, "runs": len(runs.names),
            "fit": dict(zip(PARAMETERS, result.constants)),
            "objective": result.objective, "delta": result.delta, "starts": result.starts,
            "descended": result.descended, "converged": result.converged, "bootstrap": args.bootstrap,
            "confidence": result.confidence,
            "intervals": {k: list(v) for k, v in result.intervals.items()} if result.intervals else None,
            "residuals": [dict(zip(("name", "params", "tokens", "loss", "predicted", "residual"), row))
                          for row in table],
        })
        return 0
    header = ["", "value"]
    rows = [[name, f"{value:.6g}"] for name, value in zip(PARAMETERS, result.constants)]
    if result.intervals:
        header.append(f"{result.confidence:.0%} interval ({args.bootstrap} resamples)")
        for row, name in zip(rows, PARAMETERS):
            low, high = result.intervals[name]
            row.append(f"{low:.4g} to {high:.4g}")
    print_table(f"Scaling law fitted to {len(runs.names)} runs in {runs.path}: L = E + A/N^alpha + B/D^beta",
                header, rows,
                [f"columns: params {runs.columns['params']!r}, tokens {runs.columns['tokens']!r}, "
                 f"loss {runs.columns['loss']!r}",
                 f"Huber objective {result.objective:.6e} (delta {result.delta:g}); "
                 f"{result.starts} starts scored, the best {result.descended} descended, {result.converged} converged"
                 + (" (the others stopped once 1.5x above the best)" if result.converged < result.descended else ""),
                 "use it: --fit " + ",".join(f"{v:.6g}" for v in result.constants)])
    print()
    print_table("Residuals (log predicted - log actual)",
                ["run", "params", "tokens", "loss", "predicted", "residual"],
                [[name, human(n, "params"), human(d, "tokens"), decimals(loss, 4), decimals(pred, 4), f"{res:+.4f}"]
                 for name, n, d, loss, pred, res in table])
    return 0
