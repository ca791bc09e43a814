"""Checkers for notebook 02's coding exercises: the L1 activity (sparsity) penalty and the
fraction of dead code units.

``from course_lib.checks import deep as check`` in the notebook, then e.g.
``check.l1_activity_penalty(my_penalty)``. Each checker runs the learner's function on small
codes (edge cases included) and says in plain words what is wrong and what is right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function

__all__ = ["dead_unit_fraction", "l1_activity_penalty"]


def _codes(z: Any) -> np.ndarray:
    return np.asarray(z, dtype=np.float64)


# --------------------------------------------------------------------------- L1 activity penalty


def _l1_reference(z: np.ndarray, lam: float) -> float:
    return float(lam * np.abs(_codes(z)).sum(axis=1).mean())


def _l1_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    relu_codes = np.maximum(rng.standard_normal((5, 8)), 0.0)
    return [
        Case("one code [1, -2, 3] with λ = 1", (np.array([[1.0, -2.0, 3.0]]), 1.0)),
        Case("five ReLU codes of 8 units with λ = 0.01", (relu_codes, 0.01)),
        Case("four signed codes of 3 units with λ = 0.5", (rng.standard_normal((4, 3)), 0.5)),
        Case("an all-zero code", (np.zeros((3, 4)), 0.1)),
    ]


def l1_activity_penalty(fn: Callable[[np.ndarray, float], Any]) -> CheckResult:
    """Check ``fn(z, lam) -> float``: ``lam · (1/N) Σ_n Σ_j |z_nj|`` for codes ``z`` of shape (N, k).

    This is what Keras adds to the loss for ``Dense(..., activity_regularizer=L1(lam))``: the
    L1 norm of each example's code, averaged over the batch. Recognised mistakes: squares
    instead of absolute values (an L2 penalty), no absolute value (negative codes cancel
    positive ones), a mean over the units instead of a sum, a sum over the batch instead of
    a mean, and forgetting ``lam``.
    """
    return check_function(
        fn,
        exercise="l1_activity_penalty",
        reference=_l1_reference,
        cases=_l1_cases(),
        mistakes=[
            Mistake(lambda z, lam: float(lam * (_codes(z) ** 2).sum(axis=1).mean()),
                    "you square the code values: that is an L2 penalty, which barely pushes small "
                    "values (its gradient vanishes near zero). The L1 penalty uses their absolute "
                    "values, |z|."),
            Mistake(lambda z, lam: float(lam * _codes(z).sum(axis=1).mean()),
                    "you sum the code values without taking their absolute value, so negative units "
                    "cancel positive ones. The L1 norm sums |z_nj|."),
            Mistake(lambda z, lam: float(lam * np.abs(_codes(z)).mean()),
                    "you average over the code units as well as the batch. The L1 norm of one code "
                    "is the sum over its units, Σ_j |z_nj|; only the batch is averaged."),
            Mistake(lambda z, lam: float(lam * np.abs(_codes(z)).sum()),
                    "you sum over the batch as well. Keras divides the activity penalty by the "
                    "batch size: average the per-example L1 norms over the N codes."),
            Mistake(lambda z, lam: float(np.abs(_codes(z)).sum(axis=1).mean()),
                    "you forgot to multiply by λ (lam), the weight that sets the trade-off with "
                    "the reconstruction error."),
        ],
        rtol=1e-5,
        atol=1e-8,
        hint="Take |z|, sum over the units of each code (axis 1), average over the codes "
             "(axis 0), multiply by lam.",
    )


# --------------------------------------------------------------------------- dead units


def _dead_reference(z: np.ndarray, tol: float = 0.0) -> float:
    return float((np.abs(_codes(z)) <= tol).all(axis=0).mean())


def _dead_cases() -> list[Case]:
    rng = np.random.default_rng(1)
    sparse = np.maximum(rng.standard_normal((6, 10)) - 0.8, 0.0)
    sparse[:, [1, 4, 7]] = 0.0  # three units that never fire
    tiny = np.maximum(rng.standard_normal((5, 4)), 0.0)
    tiny[:, 2] = 1e-4  # a unit that is only "nearly" off
    return [
        Case("4 codes of 3 units, unit 2 never fires",
             (np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]),)),
        Case("6 sparse codes of 10 units, 3 of them never fire", (sparse,)),
        Case("a unit at 1e-4 everywhere, tol = 1e-3", (tiny,), {"tol": 1e-3}),
        Case("a unit at 1e-4 everywhere, tol = 0", (tiny,), {"tol": 0.0}),
        Case("no dead unit", (np.eye(3),)),
    ]


def dead_unit_fraction(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(z, tol=0.0) -> float``: the fraction of the k code units that are dead.

    ``z`` has shape (N, k): one row per image, one column per unit. A unit is dead when
    ``|z_nj| <= tol`` for *every* image n — it carries no information about any input.
    Recognised mistakes: the fraction of zero *values* (that is sparsity, not death), units
    that are zero for *some* image, the fraction of images instead of units (rows and columns
    swapped), a count instead of a fraction, and ignoring ``tol``.
    """
    return check_function(
        fn,
        exercise="dead_unit_fraction",
        reference=_dead_reference,
        cases=_dead_cases(),
        mistakes=[
            Mistake(lambda z, tol=0.0: float((np.abs(_codes(z)) <= tol).mean()),
                    "you return the fraction of zero code *values*: that measures sparsity. A unit "
                    "is dead only when its whole column is zero — it is off for every image."),
            Mistake(lambda z, tol=0.0: float((np.abs(_codes(z)) <= tol).any(axis=0).mean()),
                    "you count a unit as dead when it is zero for *some* image (`any`). In a sparse "
                    "code that is every unit; dead means zero for *all* images (`.all(axis=0)`)."),
            Mistake(lambda z, tol=0.0: float((np.abs(_codes(z)) <= tol).all(axis=1).mean()),
                    "you look along the wrong axis: that is the fraction of images whose whole code "
                    "is zero. Units are the columns of z: use `.all(axis=0)`, then average over "
                    "the units."),
            Mistake(lambda z, tol=0.0: float((np.abs(_codes(z)) <= tol).all(axis=0).sum()),
                    "you return the number of dead units; the exercise asks for the fraction of "
                    "the k units (divide by z.shape[1], or take the mean)."),
            Mistake(lambda z, tol=0.0: float((_codes(z) == 0).all(axis=0).mean()),
                    "you ignore `tol`: a unit whose values are all within tol of zero counts as "
                    "dead. Compare |z| <= tol instead of z == 0."),
        ],
        rtol=1e-6,
        atol=1e-9,
        hint="Mark |z| <= tol, ask whether a whole column is marked (`.all(axis=0)`), and "
             "average over the columns.",
    )
