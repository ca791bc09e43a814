"""Checked claims: a run-dependent sentence is stated together with the condition that makes it true.

The course's rule for prose: markdown holds only what no run can change (definitions,
derivations, what to look for, why). A result that depends on the run — a comparison, a
trend, an ordering, a threshold — is stated in code, as a :class:`Claim`: the sentence, the
condition computed from this run's numbers, and the numbers themselves. It prints with ✓ or ✗
right under the output it is about and is saved with the notebook's metrics, so a sentence the
run contradicts can never be published unnoticed::

    rec.claim("The conv autoencoder reconstructs the test set better than the MLP",
              conv_mse < mlp_mse, conv_mse=conv_mse, mlp_mse=mlp_mse)

prints ``✓ The conv autoencoder reconstructs the test set better than the MLP
(conv_mse = 0.00479, mlp_mse = 0.00948)``.

What happens to a claim that does not hold depends on who is looking: in the ``smoke``
profile (tiny data, one epoch) claims are recorded and not enforced; in the other profiles a
✗ is printed with a warning, ``make publish`` refuses to copy such a run into ``notebooks/``,
and a test fails on any committed notebook whose outputs contain a ✗.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FAIL_MARK",
    "HOLD_MARK",
    "Claim",
    "failed_claims",
    "format_claim",
    "make_claim",
    "mean_and_spread",
    "summarise_claims",
]

HOLD_MARK = "✓"
FAIL_MARK = "✗"
_SIG_DIGITS = 4


@dataclass(frozen=True)
class Claim:
    """One checked sentence: its text, whether this run makes it true, and the numbers behind it."""

    text: str
    holds: bool
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "holds": self.holds, "values": dict(self.values)}


def _plain(value: Any, where: str) -> Any:
    """A claim's value as a plain number/str/bool (or a short list of them) for printing and JSON."""
    if hasattr(value, "numpy") and callable(value.numpy) and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        if value.size > 20:
            raise ValueError(f"{where}: an array of {value.size} values is too long to show "
                             "beside a claim; pass the summary the sentence is about")
        value = value.item() if value.ndim == 0 else value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, list | tuple):
        return [_plain(v, where) for v in value]
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}: a claim cannot rest on a value that is not a number")
        return value
    raise ValueError(f"{where} has type {type(value).__name__}; pass numbers, strings or bools")


def _truth(holds: Any) -> bool:
    """Accept Python and numpy booleans (``a < b`` on numpy scalars), nothing else."""
    if isinstance(holds, bool | np.bool_):
        return bool(holds)
    if isinstance(holds, np.ndarray) and holds.shape == () and holds.dtype == bool:
        return bool(holds)
    raise TypeError(
        f"a claim's condition must be a single True/False, got {type(holds).__name__} "
        f"({holds!r}); for arrays say which you mean with .all() or .any()"
    )


def make_claim(text: str, holds: Any, values: Mapping[str, Any] | None = None) -> Claim:
    """Validate and build a :class:`Claim` (text non-empty, condition a bool, values finite)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a claim needs a non-empty sentence, got {text!r}")
    clean = {str(k): _plain(v, f"claim {text!r}: value {k!r}") for k, v in (values or {}).items()}
    return Claim(" ".join(text.split()), _truth(holds), clean)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{_SIG_DIGITS}g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def format_claim(claim: Claim) -> str:
    """``✓ text (name = value, ...)`` — the line a notebook prints."""
    mark = HOLD_MARK if claim.holds else FAIL_MARK
    shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in claim.values.items())
    line = f"{mark} {claim.text}" + (f" ({shown})" if shown else "")
    if not claim.holds:
        line += "\n  ^ this run does not show what the sentence says: read its numbers, not the sentence"
    return line


def failed_claims(claims: Iterable[Mapping[str, Any] | Claim]) -> list[str]:
    """The texts of the claims that do not hold (dicts as stored in the results JSON, or Claims)."""
    out = []
    for c in claims:
        holds = c.holds if isinstance(c, Claim) else c.get("holds")
        text = c.text if isinstance(c, Claim) else c.get("text")
        if holds is not True:
            out.append(str(text))
    return out


def summarise_claims(claims: Sequence[Mapping[str, Any]]) -> str:
    """``"12 / 12"`` (held / stated), for the results summary."""
    held = sum(1 for c in claims if c.get("holds") is True)
    return f"{held} / {len(claims)}"


def mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1) of the values of several seeds.

    Differences smaller than about one point of accuracy or 5 % of an error are claimed only
    from ≥ 3 seeds; this is the spread printed beside them.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"mean_and_spread needs a 1-D list of at least two values, got {values!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"mean_and_spread: values must be finite, got {values!r}")
    return float(arr.mean()), float(arr.std(ddof=1))
