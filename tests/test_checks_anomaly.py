"""Notebook 08's exercise checkers accept the reference answers and explain the usual mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import anomaly as check


def _stub(*args):
    raise NotImplementedError


def _auroc(scores, labels):
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]
    y = np.asarray(labels) == 1
    n1, n0 = y.sum(), (~y).sum()
    return (ranks[y].sum() - n1 * (n1 + 1) / 2) / (n0 * n1)


def _auroc_pairs(scores, labels):
    s, y = np.asarray(scores), np.asarray(labels) == 1
    a, n = s[y][:, None], s[~y][None, :]
    return np.mean((a > n) + 0.5 * (a == n))


def _threshold(normal_scores, rate):
    s = np.sort(normal_scores)
    return s[len(s) - 1 - int(np.floor(rate * len(s)))]


@pytest.mark.parametrize(("checker", "answer"), [
    (check.auroc_by_ranks, _auroc),
    (check.auroc_by_ranks, _auroc_pairs),
    (check.false_alarm_threshold, _threshold),
])
def test_reference_answers_pass(checker, answer):
    result = checker(answer)
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("checker", [check.auroc_by_ranks, check.false_alarm_threshold])
def test_stubs_are_not_attempted(checker):
    assert checker(_stub).status == NOT_ATTEMPTED


def _ordinal(scores, labels):
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, len(scores) + 1)
    y = np.asarray(labels) == 1
    n1, n0 = y.sum(), (~y).sum()
    return (ranks[y].sum() - n1 * (n1 + 1) / 2) / (n0 * n1)


@pytest.mark.parametrize(("answer", "words"), [
    (_ordinal, "mean rank"),
    (lambda s, y: 1 - _auroc(s, y), "direction is reversed"),
    (lambda s, y: _auroc(s, y) + (np.sum(np.asarray(y) == 1) * (np.sum(np.asarray(y) == 1) + 1) / 2)
     / (np.sum(np.asarray(y) == 1) * np.sum(np.asarray(y) == 0)), "n1 (n1 + 1) / 2"),
    (lambda s, y: np.mean(np.asarray(s)[np.asarray(y) == 1][:, None] > np.asarray(s)[np.asarray(y) == 0][None, :]),
     "a tie counts 0"),
])
def test_auroc_mistakes_are_explained(answer, words):
    result = check.auroc_by_ranks(answer)
    assert result.status == FAILED
    assert words in result.message


@pytest.mark.parametrize(("answer", "words"), [
    (lambda s, r: np.sort(s)[int(np.floor(r * len(s)))], "wrong tail"),
    (lambda s, r: np.quantile(s, 1 - r), "interpolates"),
    (lambda s, r: np.sort(s)[len(s) - int(np.floor(r * len(s)))] if np.floor(r * len(s)) >= 1 else np.max(s) + 1,
     "one score too high"),
    (lambda s, r: np.sort(s)[-int(r * len(s))] if int(r * len(s)) else np.max(s), "one score too high"),
    (lambda s, r: np.sort(s)[len(s) - 1 - round(r * len(s))], "rounding down"),
    (lambda s, r: np.percentile(s, 100 * (1 - r), method="lower"), "rounding down"),
])
def test_threshold_mistakes_are_explained(answer, words):
    result = check.false_alarm_threshold(answer)
    assert result.status == FAILED
    assert words in result.message


def test_an_unknown_wrong_answer_names_the_case():
    result = check.auroc_by_ranks(lambda s, y: 0.3)
    assert result.status == FAILED and "expected" in result.message
