"""Checkers for the coding exercises: run the learner's function on test cases and say what is wrong.

Each notebook's exercises have their checkers in a module of this package named after the
chapter's topic (``course_lib.checks.mlp`` for notebook 01, ``...vae`` for 05, ...). A
notebook imports one as ``from course_lib.checks import vae as check`` and calls, say,
``check.gaussian_kl(my_kl)`` as the last line of a cell. The result displays itself:

- ``✓ gaussian_kl: correct on all 5 cases (...)``;
- ``✗ gaussian_kl: ...`` with what is wrong in plain words — a wrong sign, a missing sum over
  the latent dimensions, nats instead of bits, a shape — and what is right;
- ``… gaussian_kl: not attempted yet`` while the stub still raises ``NotImplementedError``,
  so a notebook runs top to bottom with every stub untouched.

A checker is built from :func:`check_function`: a reference implementation, test cases
(including edge cases) and the plausible :class:`Mistake` s it can recognise, each with the
message to show when the learner's answer behaves exactly like that mistake. Every checker
is tested against its reference answer and against at least two wrong answers.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Case",
    "CheckResult",
    "Mistake",
    "NOT_ATTEMPTED",
    "PASSED",
    "FAILED",
    "check_function",
    "to_numpy",
]

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
_MARKS = {PASSED: "✓", FAILED: "✗", NOT_ATTEMPTED: "…"}


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one exercise. It displays itself in a notebook; ``bool()`` is ``passed``."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{_MARKS[self.status]} {self.exercise}: {self.message}"

    __repr__ = __str__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython's plain-text display
        printer.text(str(self))


@dataclass(frozen=True)
class Case:
    """One test input: a short name a learner understands, positional and keyword arguments."""

    name: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer and what to tell a learner whose function behaves exactly like it.

    ``message`` says what is wrong *and* what is right, e.g. "you return the KL in bits; the
    course works in nats: use the natural log (``keras.ops.log``), not log2".
    """

    fn: Callable[..., Any]
    message: str


def to_numpy(value: Any) -> np.ndarray:
    """A learner's return value (tensor, numpy, Python number, list) as a float64 numpy array."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    else:
        try:
            import keras

            if keras.ops.is_tensor(value):
                value = keras.ops.convert_to_numpy(value)
        except ImportError:  # pragma: no cover - keras is a dependency
            pass
    return np.asarray(value, dtype=np.float64)


def _call(fn: Callable[..., Any], case: Case) -> Any:
    args = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in case.args)
    return fn(*args, **dict(case.kwargs))


def _describe_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}{where}: {exc}"


def _same(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _show(value: np.ndarray) -> str:
    if value.size == 1:
        return f"{value.item():.6g}"
    flat = np.array2string(value.ravel()[:4], precision=4, separator=", ")
    return f"array of shape {value.shape}, starting {flat[:-1]}{', ...]' if value.size > 4 else ']'}"


def check_function(
    fn: Callable[..., Any],
    *,
    exercise: str,
    reference: Callable[..., Any],
    cases: Sequence[Case],
    mistakes: Sequence[Mistake] = (),
    rtol: float = 1e-4,
    atol: float = 1e-6,
    hint: str = "",
) -> CheckResult:
    """Run ``fn`` on every case and compare it with ``reference``; recognise known mistakes.

    Order of the verdict: a stub that raises ``NotImplementedError`` is "not attempted yet";
    an exception names the case and the line; then the outputs are compared with the
    reference (shape first, then values within ``rtol``/``atol``). When some case fails and
    the learner's outputs equal a mistake's on every case, that mistake's message is shown;
    otherwise the first failing case with the expected and the returned value, and ``hint``.
    """
    if not callable(fn):
        return CheckResult(exercise, FAILED, f"expected a function, got {type(fn).__name__}.")
    if not cases:
        raise ValueError(f"checker {exercise!r} has no cases")
    outputs: list[np.ndarray] = []
    for case in cases:
        try:
            out = _call(fn, case)
        except NotImplementedError:
            return CheckResult(
                exercise, NOT_ATTEMPTED,
                "not attempted yet — replace the `raise NotImplementedError` with your code "
                "and run this cell again.",
            )
        except Exception as exc:  # the learner's bug, reported in words
            return CheckResult(exercise, FAILED,
                               f"on {case.name}, your function raised {_describe_error(exc)}")
        if out is None:
            return CheckResult(exercise, FAILED,
                               f"on {case.name}, your function returned None — did you forget `return`?")
        try:
            outputs.append(to_numpy(out))
        except (TypeError, ValueError) as exc:
            return CheckResult(exercise, FAILED,
                               f"on {case.name}, the result is not a number or array: {exc}")
    expected = [to_numpy(_call(reference, case)) for case in cases]
    failing = [i for i, (o, e) in enumerate(zip(outputs, expected, strict=True))
               if not _same(o, e, rtol, atol)]
    if not failing:
        names = ", ".join(c.name for c in cases)
        return CheckResult(exercise, PASSED, f"correct on all {len(cases)} cases ({names}).")
    for mistake in mistakes:
        try:
            wrong = [to_numpy(_call(mistake.fn, case)) for case in cases]
        except Exception:  # a mistake that cannot run on some case cannot be recognised there
            continue
        if all(_same(o, w, rtol, atol) for o, w in zip(outputs, wrong, strict=True)):
            return CheckResult(exercise, FAILED, mistake.message)
    i = failing[0]
    got, want = outputs[i], expected[i]
    if got.shape != want.shape:
        text = (f"on {cases[i].name}, your result has shape {got.shape} but should have shape "
                f"{want.shape}.")
    else:
        text = f"on {cases[i].name}, expected {_show(want)} but got {_show(got)}."
        if want.size > 1:  # where it goes wrong: the first element that differs
            wrong = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
            first = tuple(int(k) for k in np.argwhere(wrong)[0])
            text += f" The first difference is at index {first}: expected {want[first]:.6g}, got {got[first]:.6g}."
    if len(failing) > 1:
        text += f" ({len(failing)} of {len(cases)} cases differ.)"
    return CheckResult(exercise, FAILED, text + (f" {hint}" if hint else ""))
