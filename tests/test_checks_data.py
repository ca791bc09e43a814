"""Notebook 00's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import data as check


def _stub(*args, **kwargs):
    raise NotImplementedError


# ---------------------------------------------------------------- to_float

def test_to_float_accepts_the_answer_and_the_course_helper():
    from course_lib import data

    assert check.to_float(lambda x: x.astype(np.float32) / 255).status == PASSED
    assert check.to_float(data.to_float).status == PASSED


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda x: x / 256.0, "divide by 256"),
    (lambda x: x // 255, "integer division"),
    (lambda x: x.astype(np.float32), "do not scale"),
])
def test_to_float_explains_mistakes(wrong, words):
    result = check.to_float(wrong)
    assert result.status == FAILED and words in result.message


def test_to_float_unknown_mistake_and_stub():
    result = check.to_float(lambda x: x / 255.0 * 2)
    assert result.status == FAILED and "expected" in result.message and "255" in result.message
    assert check.to_float(_stub).status == NOT_ATTEMPTED


# ---------------------------------------------------------------- class_counts

def test_class_counts_accepts_the_answer():
    def answer(y, n_classes=10):
        return np.bincount(y, minlength=n_classes)

    def loop_answer(y, n_classes=10):
        return [int(np.sum(y == c)) for c in range(n_classes)]

    assert check.class_counts(answer).status == PASSED
    assert check.class_counts(loop_answer).status == PASSED


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda y, n_classes=10: np.bincount(y), "minlength"),
    (lambda y, n_classes=10: np.unique(y, return_counts=True)[1], "skips absent classes"),
])
def test_class_counts_explains_mistakes(wrong, words):
    result = check.class_counts(wrong)
    assert result.status == FAILED and words in result.message


def test_class_counts_ignoring_n_classes_names_the_case():
    result = check.class_counts(lambda y, n_classes=10: np.bincount(y, minlength=10))
    assert result.status == FAILED and "n_classes=3" in result.message


# ---------------------------------------------------------------- dynamic_binarize

def test_dynamic_binarize_accepts_the_answer_and_the_course_helper():
    from course_lib import data

    assert check.dynamic_binarize(lambda x, rng: (rng.random(x.shape) < x).astype(np.float32)).passed
    assert check.dynamic_binarize(lambda x, rng: rng.binomial(1, x)).passed  # another valid sampler
    assert check.dynamic_binarize(data.dynamic_binarize).passed


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda x, rng: (x > 0.5).astype(np.float32), "threshold at 0.5"),
    (lambda x, rng: (rng.random(x.shape) > x).astype(np.float32), "wrong way round"),
    (lambda x, rng: (np.random.default_rng(7).random(x.shape) < x).astype(np.float32),
     "new generator with a fixed seed"),
    (lambda x, rng: np.round(x), "threshold at 0.5 (or round)"),
])
def test_dynamic_binarize_explains_mistakes(wrong, words):
    result = check.dynamic_binarize(wrong)
    assert result.status == FAILED and words in result.message


def test_dynamic_binarize_grey_output_and_shape_and_stub():
    grey = check.dynamic_binarize(lambda x, rng: rng.random(x.shape) * 0 + x)  # returns x itself
    assert grey.status == FAILED and "grey intensities themselves" in grey.message
    half = check.dynamic_binarize(lambda x, rng: 0.5 * (rng.random(x.shape) < x))  # 0 or 0.5
    assert half.status == FAILED and "every output is 0 or 1" in half.message
    shape = check.dynamic_binarize(lambda x, rng: (rng.random(x.shape) < x).ravel())
    assert shape.status == FAILED and "same shape as x" in shape.message
    assert check.dynamic_binarize(_stub).status == NOT_ATTEMPTED
