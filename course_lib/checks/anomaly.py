"""Checkers for notebook 08's coding exercises (anomaly detection).

``from course_lib.checks import anomaly as check`` and then, as the last line of a cell,

- ``check.auroc_by_ranks(my_auroc)``: the AUROC of ``scores`` (higher = more anomalous)
  against 0/1 labels (1 = anomaly) by the rank formula, tied scores sharing their mean rank;
- ``check.false_alarm_threshold(my_threshold)``: the lowest threshold ``t`` such that at
  most a fraction ``rate`` of the given *normal* scores are ``> t``.

Each checker runs the learner's function on small cases (ties, perfect and reversed
detectors, uneven class sizes) and recognises the usual mistakes: ties broken by position,
the score's direction reversed, the ``n1 (n1 + 1) / 2`` term forgotten, ties counted as
losses; the wrong tail of the distribution, an interpolated quantile, ``>=`` instead of ``>``,
``rate * n`` rounded instead of floored, ``np.percentile(..., method='lower')``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import anomaly
from . import Case, CheckResult, Mistake, check_function

__all__ = ["auroc_by_ranks", "false_alarm_threshold"]

_rng = np.random.default_rng(808)

# ---------------------------------------------------------------------- AUROC by ranks


def _mid_ranks(s: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]


def _auroc_reference(scores, labels):
    return anomaly.auroc(scores, labels)  # the tested library version (mean ranks for ties)


def _auroc_ordinal_ranks(scores, labels):
    s, y = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    ranks = np.empty(len(s))
    ranks[np.argsort(s, kind="mergesort")] = np.arange(1, len(s) + 1)
    n1, n0 = y.sum(), (~y).sum()
    return (ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n0 * n1)


def _auroc_no_offset(scores, labels):
    s, y = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    return _mid_ranks(s)[y].sum() / (y.sum() * (~y).sum())


def _auroc_strict_pairs(scores, labels):
    s, y = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    return np.mean(s[y][:, None] > s[~y][None, :])


_AUROC_CASES = [
    Case("a perfect detector (every anomaly above every normal image): AUROC 1",
         (np.array([0.1, 0.2, 0.3, 0.8, 0.9]), np.array([0, 0, 0, 1, 1]))),
    Case("a reversed detector: AUROC 0", (np.array([3.0, 2.0, 1.0, 0.0]), np.array([0, 0, 1, 1]))),
    Case("every score tied: AUROC 0.5 (a tie counts one half)", (np.ones(6), np.array([0, 1, 0, 1, 0, 1]))),
    Case("a tie between a normal image and an anomaly",
         (np.array([1.0, 2.0, 2.0, 3.0]), np.array([0, 0, 1, 1]))),
    Case("30 random scores rounded to one decimal (many ties), 9 anomalies",
         (np.round(_rng.normal(size=30), 1), np.r_[np.ones(9, int), np.zeros(21, int)][_rng.permutation(30)])),
]
_AUROC_MISTAKES = [
    Mistake(_auroc_ordinal_ranks,
            "tied scores get different ranks in your version (by their position, as argsort gives "
            "them): the answer then depends on the order of the images. Tied scores must share their "
            "mean rank (np.unique with return_inverse and return_counts gives it), so that a tie "
            "between a normal image and an anomaly counts one half."),
    Mistake(lambda s, y: 1.0 - _auroc_reference(s, y),
            "your AUROC is 1 minus the right one: the direction is reversed. Sum the ranks of the "
            "*anomalies* (label 1), whose scores should be high, not those of the normal images."),
    Mistake(_auroc_no_offset,
            "you forgot to subtract n1 (n1 + 1) / 2 from the anomalies' rank sum: the smallest "
            "possible rank sum of n1 items is 1 + 2 + ... + n1, and only what lies above it counts "
            "pairs won. AUROC = (R1 - n1 (n1 + 1) / 2) / (n0 n1)."),
    Mistake(_auroc_strict_pairs,
            "you count the pairs where the anomaly scores strictly higher, so a tie counts 0; the "
            "AUROC counts a tie as one half (and the rank formula with mean ranks does so by itself)."),
]


def auroc_by_ranks(fn: Callable) -> CheckResult:
    """Check ``fn(scores, labels) -> AUROC`` (a number) against the rank formula with mean ranks."""
    return check_function(
        fn, exercise="auroc_by_ranks", reference=_auroc_reference, cases=_AUROC_CASES,
        mistakes=_AUROC_MISTAKES,
        hint="Rank all scores (ties share their mean rank), sum the anomalies' ranks R1, then "
             "(R1 - n1 (n1 + 1) / 2) / (n0 n1).",
    )


# ---------------------------------------------------------------------- threshold at a false-alarm rate


def _threshold_reference(normal_scores, rate):
    return anomaly.threshold_at_false_alarm_rate(normal_scores, rate)  # the tested library version


_THRESHOLD_CASES = [
    Case("10 normal scores 1..10, rate 0.2 (two may lie above)", (np.arange(1.0, 11.0), 0.2)),
    Case("10 shuffled scores, rate 0 (no false alarm allowed)", (_rng.permutation(np.arange(10.0)), 0.0)),
    Case("7 scores, rate 0.3 (2.1 images: at most 2 above)", (np.array([5.0, 1.0, 4.0, 2.0, 7.0, 3.0, 6.0]), 0.3)),
    Case("1,000 normal scores, rate 0.05", (_rng.normal(size=1000), 0.05)),
    Case("10 scores 1..10, rate 0.15 (1.5 images: at most 1 above)", (np.arange(1.0, 11.0), 0.15)),
]
_ONE_TOO_HIGH = ("your threshold is one score too high: with the rule 'flag score > t', the threshold "
                 "itself is not flagged, so t should be the score with floor(rate * n) scores *above* it.")
_THRESHOLD_MISTAKES = [
    Mistake(lambda s, r: np.sort(np.asarray(s, np.float64))[int(np.floor(r * len(s)))],
            "you take the threshold from the wrong tail: a false alarm is a normal image *above* the "
            "threshold, so the threshold must be near the top of the normal scores (the (1 - rate) "
            "quantile), not near the bottom."),
    Mistake(lambda s, r: np.quantile(np.asarray(s, np.float64), 1.0 - r),
            "np.quantile interpolates between two scores, so your threshold is not one of the normal "
            "scores and can let one image too many (or too few) above it. Sort the scores and take "
            "the one with exactly floor(rate * n) scores above it."),
    Mistake(lambda s, r: np.sort(np.asarray(s, np.float64))[len(s) - int(np.floor(r * len(s)))]
            if np.floor(r * len(s)) >= 1 else np.max(s) + 1.0,
            _ONE_TOO_HIGH),
    Mistake(lambda s, r: np.sort(np.asarray(s, np.float64))[-int(np.floor(r * len(s))) or -1],
            _ONE_TOO_HIGH),
    Mistake(lambda s, r: np.sort(np.asarray(s, np.float64))[len(s) - 1 - round(r * len(s))],
            "with 10 scores and rate 0.15 your threshold lets 2 images lie above it, a false-alarm "
            "rate of 0.2: rate * n = 1.5 was rounded up (round(), or np.percentile(..., "
            "method='lower'), do this). 'At most' means rounding down: k = floor(rate * n), "
            "t = sorted[n - 1 - k]."),
]


def false_alarm_threshold(fn: Callable) -> CheckResult:
    """Check ``fn(normal_scores, rate) -> t``: the lowest t with at most ``rate`` of the scores ``> t``."""
    return check_function(
        fn, exercise="false_alarm_threshold", reference=_threshold_reference, cases=_THRESHOLD_CASES,
        mistakes=_THRESHOLD_MISTAKES,
        hint="Sort the normal scores; k = floor(rate * n) of them may lie above t; t = sorted[n - 1 - k].",
    )
