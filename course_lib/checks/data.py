"""Checkers for notebook 00's coding exercises: preparing Fashion-MNIST for a model.

``from course_lib.checks import data as check`` in the notebook, then e.g.
``check.to_float(my_to_float)``. Each checker runs the learner's function on small inputs
(edge cases included) and says in plain words what is wrong and what is right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function

__all__ = ["class_counts", "dynamic_binarize", "to_float"]


# --------------------------------------------------------------------------- uint8 -> [0, 1]


def _to_float_reference(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(np.float32) / np.float32(255.0)


_PIXELS = np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8)
_BATCH = np.random.default_rng(0).integers(0, 256, size=(3, 4, 4)).astype(np.uint8)


def to_float(fn: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``fn(x_uint8) -> float array in [0, 1]``: 0 ↦ 0, 255 ↦ 1, same shape.

    Recognised mistakes: dividing by 256 (white becomes 0.996), integer division ``x // 255``
    (every grey pixel becomes 0), and converting the type without scaling.
    """
    return check_function(
        fn,
        exercise="to_float",
        reference=_to_float_reference,
        cases=[
            Case("black, white and greys (0, 1, 127, 128, 254, 255)", (_PIXELS,)),
            Case("a batch of three random 4x4 images", (_BATCH,)),
            Case("an all-white image", (np.full((2, 2), 255, dtype=np.uint8),)),
        ],
        mistakes=[
            Mistake(lambda x: np.asarray(x) / 256.0,
                    "you divide by 256: white (255) becomes 0.996 instead of 1. The largest uint8 "
                    "value is 255, so divide by 255."),
            Mistake(lambda x: np.asarray(x) // 255,
                    "you use integer division (//): every grey pixel becomes 0 and only white "
                    "stays 1. Convert to float first, then divide: x.astype(np.float32) / 255."),
            Mistake(lambda x: np.asarray(x).astype(np.float32),
                    "you convert the type but do not scale: values are still 0..255. Divide by "
                    "255 to get [0, 1]."),
        ],
        atol=1e-6,
        hint="Black (0) must become 0.0 and white (255) exactly 1.0: x.astype(np.float32) / 255.",
    )


# --------------------------------------------------------------------------- class counts


def _class_counts_reference(y: np.ndarray, n_classes: int = 10) -> np.ndarray:
    return np.bincount(np.asarray(y), minlength=n_classes)


def class_counts(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(y, n_classes=10) -> counts`` of shape ``(n_classes,)``, one count per label.

    Recognised mistakes: ``np.bincount(y)`` without ``minlength`` (a class absent from ``y``
    at the end is dropped) and ``np.unique(y, return_counts=True)`` (absent classes are
    skipped, so the counts shift to the wrong labels).
    """
    return check_function(
        fn,
        exercise="class_counts",
        reference=_class_counts_reference,
        cases=[
            Case("every class once", (np.arange(10),)),
            Case("a balanced set, 3 of each", (np.repeat(np.arange(10), 3),)),
            Case("no 8s and no 9s", (np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 7]),)),
            Case("no 2s (a class missing in the middle)", (np.array([0, 1, 1, 3, 4, 5, 6, 7, 8, 9]),)),
            Case("three classes, n_classes=3", (np.array([2, 0, 2]),), {"n_classes": 3}),
        ],
        mistakes=[
            Mistake(lambda y, n_classes=10: np.bincount(np.asarray(y)),
                    "np.bincount(y) alone stops at the largest label present: a class with no "
                    "examples at the end is missing. Pass minlength=n_classes so there is one "
                    "count per class, zeros included."),
            Mistake(lambda y, n_classes=10: np.unique(np.asarray(y), return_counts=True)[1],
                    "np.unique(..., return_counts=True) skips absent classes, so counts slide to "
                    "the wrong labels. Use np.bincount(y, minlength=n_classes): entry c is the "
                    "count of label c."),
        ],
        hint="Return one count per class label 0..n_classes-1, zeros included.",
    )


# --------------------------------------------------------------------------- dynamic binarisation

_LEVELS = np.array([0.0, 0.25, 0.5, 0.9, 1.0], dtype=np.float32)
_REPEATS = 10_000  # per grey level: the share of 1s has σ ≤ 0.005, so ±0.025 is 5 σ


def _binarisation_summary(fn: Callable[..., Any], seed: int) -> np.ndarray:
    """What a binarisation does, in numbers: the share of 1s at each grey level, whether
    every output is 0 or 1, and whether a second call with the same generator differs."""
    x = np.repeat(_LEVELS, _REPEATS).reshape(len(_LEVELS), _REPEATS)
    rng = np.random.default_rng(seed)
    first = np.asarray(_as_array(fn(x.copy(), rng)), dtype=np.float64)
    if first.shape != x.shape:
        raise ValueError(f"for images of shape {x.shape} the function returned shape {first.shape}: "
                         "return one 0/1 value per pixel, the same shape as x")
    second = np.asarray(_as_array(fn(x.copy(), rng)), dtype=np.float64)
    share_of_ones = first.mean(axis=1)
    binary = float(np.isin(first, (0.0, 1.0)).all())
    fresh = float(np.any(first != second))
    return np.concatenate([share_of_ones, [binary, fresh]])


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    return np.asarray(value)


def _expected_summary(seed: int) -> np.ndarray:
    """What a correct sampler gives: share of 1s = the grey level, all binary, fresh draws."""
    return np.concatenate([_LEVELS.astype(np.float64), [1.0, 1.0]])


def dynamic_binarize(fn: Callable[[np.ndarray, np.random.Generator], Any]) -> CheckResult:
    """Check ``fn(x, rng) -> 0/1 image``: pixel ``i`` is 1 with probability ``x_i``, fresh each call.

    The answer is random, so the checker compares what it does, not its exact values: on
    10,000 pixels at each grey level 0, 0.25, 0.5, 0.9 and 1 the share of 1s must be that
    level (±0.025), every value 0 or 1, and two calls with the same generator must differ.
    Recognised mistakes: a fixed threshold at 0.5 (or rounding), the comparison the wrong
    way round (1 with probability ``1 - x``), and a new generator with a fixed seed.
    """

    def summary_of(f: Callable[..., Any]) -> Callable[[int], np.ndarray]:
        return lambda seed: _binarisation_summary(f, seed)

    return check_function(
        summary_of(fn),
        exercise="dynamic_binarize",
        reference=_expected_summary,
        cases=[Case("10,000 pixels at each grey level 0, 0.25, 0.5, 0.9, 1 (generator seed 0)", (0,)),
               Case("the same with generator seed 1", (1,))],
        mistakes=[
            Mistake(summary_of(lambda x, rng: (np.asarray(x) > 0.5).astype(np.float32)),
                    "you threshold at 0.5 (or round): every call gives the same image and a pixel "
                    "of 0.25 is never on. Draw a uniform random number per pixel, u = rng.random(x.shape), "
                    "and return (u < x)."),
            Mistake(summary_of(lambda x, rng: np.asarray(x, dtype=np.float32)),
                    "you return the grey intensities themselves: a binarised image holds only 0s "
                    "and 1s. Draw u = rng.random(x.shape) and return (u < x) as floats, so that a "
                    "pixel of intensity x is 1 with probability x."),
            Mistake(summary_of(lambda x, rng: (rng.random(np.shape(x)) > x).astype(np.float32)),
                    "the comparison is the wrong way round: a pixel is on with probability 1 - x "
                    "(white pixels come out black). Use (u < x), so that P(on) = x."),
            Mistake(summary_of(lambda x, rng: (np.random.default_rng(0).random(np.shape(x))
                                               < x).astype(np.float32)),
                    "every call gives the same image: you make a new generator with a fixed seed "
                    "inside the function. Use the generator you are given, rng.random(x.shape), so "
                    "that each call (each epoch) draws a fresh sample."),
        ],
        atol=0.025,
        rtol=0.0,
        hint=("The seven numbers are: the share of 1s at grey levels 0, 0.25, 0.5, 0.9, 1, then 1 if "
              "every output is 0 or 1, then 1 if two calls with the same generator differ. Use the "
              "generator you are given (rng.random), not a new one."),
    )
