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
    "NOT_ATTEMPTED_MESSAGE",
    "PASSED",
    "FAILED",
    "check_function",
    "check_parts",
    "to_numpy",
]

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
NOT_ATTEMPTED_MESSAGE = ("not attempted yet — replace the `raise NotImplementedError` with your code "
                         "and run this cell again.")
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
            return CheckResult(exercise, NOT_ATTEMPTED, NOT_ATTEMPTED_MESSAGE)
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


# --------------------------------------------------------------------------------------------
# A checker for functions that return a tuple of arrays
# --------------------------------------------------------------------------------------------


def _run(fn: Callable[..., Any], cases: Sequence[Case]) -> list[Any]:
    """``fn`` on every case: its return value, or the exception it raised."""
    runs: list[Any] = []
    for case in cases:
        try:
            runs.append(_call(fn, case))
        except Exception as exc:  # the learner's (or a mistake's) failure is data here
            runs.append(exc)
    return runs


def _parts_of(value: Any, n: int) -> list[np.ndarray | None] | None:
    """``value`` as ``n`` numpy arrays (``None`` parts stay ``None``), or ``None`` if it is not that."""
    if not isinstance(value, tuple | list) or len(value) != n:
        return None
    try:
        return [None if v is None else to_numpy(v) for v in value]
    except (TypeError, ValueError):
        return None


def _agrees(learner: list[Any], mistake: list[Any], n: int, rtol: float, atol: float) -> bool:
    """The learner's runs behave like the mistake's: the same cases fail, the others agree on
    every part the mistake specifies, and at least one case runs."""
    ran = False
    for mine, wrong in zip(learner, mistake, strict=True):
        if isinstance(mine, Exception) or isinstance(wrong, Exception):
            if not (isinstance(mine, Exception) and isinstance(wrong, Exception)):
                return False
            continue
        wrong_parts = _parts_of(wrong, n)
        if wrong_parts is None or not all(
            w is None or _same(m, w, rtol, atol) for m, w in zip(mine, wrong_parts, strict=True)
        ):
            return False
        ran = True
    return ran


def check_parts(
    fn: Callable[..., Any],
    *,
    exercise: str,
    reference: Callable[..., Any],
    cases: Sequence[Case],
    parts: Sequence[str],
    shapes: Sequence[str],
    why: str,
    mistakes: Sequence[Mistake] = (),
    rtol: float = 1e-4,
    atol: float = 1e-6,
    hint: str = "",
) -> CheckResult:
    """:func:`check_function` for a function that returns a tuple of ``len(parts)`` arrays.

    (One array per case is all that :func:`check_function` compares; a tuple of arrays of
    different shapes is not one array.) A mistake may leave a part unspecified (``None``): it
    is then recognised from the parts it gives. A mistake that makes the function fail on some
    cases is recognised when the learner's function fails on exactly those cases and agrees
    on the others.

    ``parts`` names them (``"out"``, ``"weights"``), ``shapes`` describes each one's shape in
    words (``"(..., T_q, d_v)"``), ``why`` says why all of them are returned. Verdict order: a
    stub is not attempted; a failing case is reported (unless a mistake fails on exactly the
    same cases and agrees on the rest); a return value that is not the tuple is explained;
    then a known mistake; then the first case and part that differ (shape first, then values).
    """
    if not callable(fn):
        return CheckResult(exercise, FAILED, f"expected a function, got {type(fn).__name__}.")
    n, names = len(parts), "(" + ", ".join(parts) + ")"
    runs = _run(fn, cases)
    if any(isinstance(r, NotImplementedError) for r in runs):
        return CheckResult(exercise, NOT_ATTEMPTED, NOT_ATTEMPTED_MESSAGE)
    expected = [_parts_of(reference(*case.args, **dict(case.kwargs)), n) for case in cases]

    learner: list[Any] = []
    for case, want, got in zip(cases, expected, runs, strict=True):
        if isinstance(got, Exception):
            learner.append(got)
            continue
        if got is None:
            return CheckResult(exercise, FAILED,
                               f"on {case.name}, your function returned None — did you forget `return`?")
        if not isinstance(got, tuple | list):
            try:
                single = to_numpy(got)
            except (TypeError, ValueError) as exc:
                return CheckResult(exercise, FAILED,
                                   f"on {case.name}, the result is not a number or array: {exc}")
            right = [name for name, w in zip(parts, want, strict=True) if _same(single, w, rtol, atol)]
            what = f"only `{right[0]}` (and it is right)" if right else "a single array"
            return CheckResult(exercise, FAILED,
                               f"you return {what}; return the tuple {names}: `return {', '.join(parts)}`. {why}")
        if len(got) != n:
            return CheckResult(exercise, FAILED,
                               f"on {case.name}, your function returns {len(got)} values; return the "
                               f"{n} arrays {names} in this order. {why}")
        converted = _parts_of(got, n)
        if converted is None or any(c is None for c in converted):
            return CheckResult(exercise, FAILED,
                               f"on {case.name}, the parts of your result are not all arrays of numbers; "
                               f"return the {n} arrays {names}.")
        learner.append(converted)

    crashes = [i for i, r in enumerate(learner) if isinstance(r, Exception)]
    failing = crashes or [i for i, (got, want) in enumerate(zip(learner, expected, strict=True))
                          if not all(_same(g, w, rtol, atol) for g, w in zip(got, want, strict=True))]
    if not failing:
        return CheckResult(exercise, PASSED,
                           f"correct on all {len(cases)} cases ({', '.join(c.name for c in cases)}).")
    for mistake in mistakes:
        if _agrees(learner, _run(mistake.fn, cases), n, rtol, atol):
            text = mistake.message
            if crashes:
                i = crashes[0]
                text += (f" (That is also why your function fails on {cases[i].name} with "
                         f"{type(learner[i]).__name__}.)")
            return CheckResult(exercise, FAILED, text)
    i = failing[0]
    if crashes:
        return CheckResult(exercise, FAILED,
                           f"on {cases[i].name}, your function raised {_describe_error(learner[i])}")
    for name, shape, got, want in zip(parts, shapes, learner[i], expected[i], strict=True):
        if got.shape != want.shape:
            text = (f"on {cases[i].name}, `{name}` has shape {got.shape} but should have shape "
                    f"{want.shape}, that is {shape}.")
            break
        if not _same(got, want, rtol, atol):
            text = f"on {cases[i].name}, `{name}` should be {_show(want)} but is {_show(got)}."
            if want.size > 1:
                wrong = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
                first = tuple(int(k) for k in np.argwhere(wrong)[0])
                text += (f" The first difference is at index {first}: expected {want[first]:.6g}, "
                         f"got {got[first]:.6g}.")
            break
    if len(failing) > 1:
        text += f" ({len(failing)} of {len(cases)} cases differ.)"
    return CheckResult(exercise, FAILED, text + (f" {hint}" if hint else ""))
