"""Formula text shared by the workbooks: numbers as Excel writes them, the scaling law, and the in-sheet Newton steps.

Every builder returns formula text (without the leading '=') over the names or cell references it is given,
so one piece of math is written once and reused by every sheet that needs it. Fit constants are passed as a
dict {"E", "A", "B", "alpha", "beta"} of defined names (or numbers written with :func:`number`).

The inference-aware optima have no closed form. The sheets solve them as :mod:`xlcalc.core.lifetime` does: with
x = ln D, Newton steps on h(x) = ln(P + Q e^(-x)) - beta x - ln R (decreasing and convex) from the left end
x0 of its bracket climb monotonically to the root. The fixed-budget optimum uses the convex decreasing
F(x) = K - (alpha+beta) x + (1-alpha) ln(1 + t e^(-x)) from its lower bound, and the Chinchilla-proportioned
model within a budget the convex increasing ln(6k N^(1+alpha/beta) + 2TN) - ln C in ln N from its upper bound.

>>> number(1e9), number(1e-12), number(730.0), number(0.5)
('1E+9', '1E-12', '730', '0.5')
"""

from __future__ import annotations

#: Functions the formulas may use: all exist in Excel 2010, LibreOffice 7.4, Gnumeric and Google Sheets.
ALLOWED_FUNCTIONS = frozenset({"EXP", "LN", "LOG10", "MAX", "MIN", "IF", "INDEX", "MATCH", "ABS", "AND", "OR", "NOT",
                               "IFERROR", "SUMPRODUCT", "SUM", "ISNUMBER", "ISBLANK", "ISNA", "NA", "TEXT", "INT",
                               "ROUNDUP", "CHOOSE", "COUNT", "LEN"})


def number(value: float) -> str:
    """A number as Excel serialises it in formula text: plain digits, or an upper-case exponent with a sign (1E+9)."""
    value = float(value)
    if value.is_integer():
        text = str(int(value))
        short = abs(value) < 1e15 and (len(text.rstrip("0")) > 3 or len(text) < 7)
        return text if short else _exponent(value)
    text = repr(value)
    return _exponent(value) if "e" in text else text


def _exponent(value: float) -> str:
    mantissa, exponent = f"{value:.15e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    mantissa = repr(float(mantissa)) if "." in mantissa else mantissa
    mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
    return f"{mantissa}E{int(exponent):+d}"


# ----------------------------------------------------------------------------------------------
# The scaling law L(N, D) = E + A / N^alpha + B / D^beta and its Chinchilla optimum


def power_law_loss(n: str, d: str, fit: dict) -> str:
    """L(N, D) for the fit's constants."""
    return f"{fit['E']}+{fit['A']}/({n})^{fit['alpha']}+{fit['B']}/({d})^{fit['beta']}"


def chinchilla_tokens(n: str, fit: dict) -> str:
    """The compute-optimal training tokens for N parameters."""
    return f"({fit['beta']}*{fit['B']}*({n})^{fit['alpha']}/({fit['alpha']}*{fit['A']}))^(1/{fit['beta']})"


def chinchilla_params_for_loss(loss: str, fit: dict) -> str:
    """The parameters of the Chinchilla-optimal model that reaches ``loss``."""
    return (f"({fit['A']}*({fit['alpha']}+{fit['beta']})/({fit['beta']}*(({loss})-{fit['E']})))"
            f"^(1/{fit['alpha']})")


def chinchilla_tokens_for_loss(loss: str, fit: dict) -> str:
    """The training tokens of the Chinchilla-optimal model that reaches ``loss``."""
    return (f"({fit['B']}*({fit['alpha']}+{fit['beta']})/({fit['alpha']}*(({loss})-{fit['E']})))"
            f"^(1/{fit['beta']})")


def params_on_curve(loss: str, x: str, fit: dict) -> str:
    """N on the iso-loss curve at ln D = x."""
    return f"({fit['A']}/(({loss})-{fit['E']}-{fit['B']}*EXP(-{fit['beta']}*{x})))^(1/{fit['alpha']})"


def tokens_on_curve(loss: str, n: str, fit: dict) -> str:
    """D on the iso-loss curve for N parameters."""
    return f"({fit['B']}/(({loss})-{fit['E']}-{fit['A']}/({n})^{fit['alpha']}))^(1/{fit['beta']})"


# ----------------------------------------------------------------------------------------------
# Newton steps (see the module docstring)


def newton_p(fit: dict) -> str:
    """P = B (alpha + beta)."""
    return f"{fit['B']}*({fit['alpha']}+{fit['beta']})"


def newton_log_r(loss: str, fit: dict) -> str:
    """ln R = ln(alpha (loss - E))."""
    return f"LN({fit['alpha']}*(({loss})-{fit['E']}))"


def newton_q(s: str, fit: dict) -> str:
    """Q = B beta s."""
    return f"{fit['B']}*{fit['beta']}*({s})"


def _bound(positive: str, pick: str, first: str, second: str) -> str:
    """``pick(first, second)`` where ``positive`` > 0, else ``first`` (``second`` takes the log of ``positive``)."""
    return f"IF({positive}>0,{pick}({first},{second}),{first})"


def newton_start(q: str, p: str, log_r: str, beta: str) -> str:
    """x0 = max((ln P - ln R)/beta, (ln Q - ln R)/(1+beta)), the left end of the bracket (Q = 0: the first)."""
    return _bound(q, "MAX", f"(LN({p})-{log_r})/{beta}", f"(LN({q})-{log_r})/(1+{beta})")


def newton_step(x: str, q: str, p: str, log_r: str, beta: str) -> str:
    """x + h/(beta + tail/total), h = ln(total) - beta x - ln R, tail = Q e^(-x), total = P + tail."""
    tail = f"{q}*EXP(-{x})"
    total = f"({p}+{tail})"
    return f"{x}+(LN({total})-{beta}*{x}-{log_r})/({beta}+{tail}/{total})"


def budget_start(k: str, t: str, fit: dict) -> str:
    """x0 = max(K/(alpha+beta), (K + (1-alpha) ln t)/(1+beta)), a lower bound of the root (F(x0) >= 0)."""
    a, b = fit["alpha"], fit["beta"]
    return _bound(t, "MAX", f"{k}/({a}+{b})", f"({k}+(1-{a})*LN({t}))/(1+{b})")


def budget_step(x: str, k: str, t: str, fit: dict) -> str:
    """x + F/(alpha+beta + (1-alpha) r/(1+r)), F = K - (alpha+beta) x + (1-alpha) ln(1+r), r = t e^(-x)."""
    a, b = fit["alpha"], fit["beta"]
    r = f"{t}*EXP(-{x})"
    return f"{x}+({k}-({a}+{b})*{x}+(1-{a})*LN(1+{r}))/({a}+{b}+(1-{a})*{r}/(1+{r}))"


def within_budget_start(log_c: str, log_6k: str, power: str, inference_tokens: str) -> str:
    """z0 = min((ln C - ln 6k)/p, ln C - ln 2T): either term alone spends the budget there, so g(z0) >= 0."""
    return _bound(inference_tokens, "MIN", f"({log_c}-{log_6k})/{power}", f"{log_c}-LN(2*{inference_tokens})")


def within_budget_step(z: str, log_c: str, log_6k: str, power: str, inference_tokens: str) -> str:
    """z - g/g' for g(z) = ln(e^(ln 6k + p z) + 2T e^z) - ln C (convex, increasing: from the right, monotone)."""
    first = f"EXP({log_6k}+{power}*{z})"
    second = f"2*{inference_tokens}*EXP({z})"
    return f"{z}-(LN({first}+{second})-{log_c})*({first}+{second})/({power}*{first}+{second})"


# ----------------------------------------------------------------------------------------------
# Small helpers


def if_ok(condition: str, formula: str, fill: str) -> str:
    """``formula`` where ``condition`` holds, else the text ``fill``."""
    return f'IF({condition},{formula},"{fill}")'


def chart_value(source: str) -> str:
    """A chart-feed cell: the number in ``source``, else #N/A (a gap in a line chart, never a 0)."""
    return f"IF(ISNUMBER({source}),{source},NA())"


def positive(name: str) -> str:
    """TRUE when ``name`` holds a number above 0 (FALSE for text and empty cells, without an error)."""
    return f"IF(ISNUMBER({name}),{name}>0,FALSE)"
