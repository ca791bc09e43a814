"""Notebook 10's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import autoregressive, vq
from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import vq as check


def _stub(*args, **kwargs):
    raise NotImplementedError


# --- the answers a learner would write (the worked answers of notebook 10) -------------------

def nearest_codes(z, codebook):
    d = (z**2).sum(-1, keepdims=True) - 2 * z @ codebook.T + (codebook**2).sum(-1)  # (..., K)
    return d.argmin(-1)


def codebook_perplexity(codes, num_codes):
    p = np.bincount(codes.ravel(), minlength=num_codes) / codes.size
    p = p[p > 0]
    return np.exp(-(p * np.log(p)).sum())


def causal_mask(kernel_size, mask_type):
    c = kernel_size // 2
    mask = np.zeros((kernel_size, kernel_size))
    mask[:c] = 1
    mask[c, :c] = 1
    mask[c, c] = 1 if mask_type == "B" else 0
    return mask


ANSWERS = [(check.nearest_codes, nearest_codes), (check.codebook_perplexity, codebook_perplexity),
           (check.causal_mask, causal_mask)]


@pytest.mark.parametrize("checker, answer", ANSWERS)
def test_reference_answers_pass_and_stubs_are_not_attempted(checker, answer):
    assert checker(answer).status == PASSED, str(checker(answer))
    assert checker(_stub).status == NOT_ATTEMPTED


def test_the_answers_agree_with_course_lib():
    rng = np.random.default_rng(0)
    z, codebook = rng.normal(size=(2, 3, 3, 4)).astype("float32"), rng.normal(size=(5, 4)).astype("float32")
    layer = vq.VectorQuantizer(5, 4)
    layer.codebook.assign(codebook)
    np.testing.assert_array_equal(nearest_codes(z, codebook), np.asarray(layer.nearest(z)))
    codes = rng.integers(0, 8, size=(4, 7, 7))
    perplexity, _ = vq.perplexity_and_usage(codes, 8)
    assert codebook_perplexity(codes, 8) == pytest.approx(float(perplexity), rel=1e-5)
    for k in (3, 5):
        for t in ("A", "B"):
            np.testing.assert_array_equal(causal_mask(k, t), autoregressive.causal_mask(k, t))


def _dist(z, e):
    return ((z[..., None, :] - e) ** 2).sum(-1)


@pytest.mark.parametrize("wrong, message", [
    (lambda z, e: _dist(z, e).argmax(-1), "argmin, not argmax"),
    (lambda z, e: (z @ e.T).argmax(-1), "dot product"),
    (lambda z, e: _dist(z, e).argmin(-1).ravel(), "flattened"),
    (lambda z, e: e[_dist(z, e).argmin(-1)], "indices"),
    (lambda z, e: np.abs(z[..., None, :] - e).sum(-1).argmin(-1), "L1"),
])
def test_nearest_codes_mistakes_are_explained(wrong, message):
    result = check.nearest_codes(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def _entropy(codes, k):
    p = np.bincount(codes.ravel(), minlength=k) / codes.size
    p = p[p > 0]
    return -(p * np.log(p)).sum()


def _perplexity_keeping_zeros(codes, num_codes):
    p = np.bincount(codes.ravel(), minlength=num_codes) / codes.size
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(-(p * np.log(p)).sum())  # 0 * log 0 = nan


@pytest.mark.parametrize("wrong, message", [
    (lambda c, k: _entropy(c, k), "exponential"),
    (lambda c, k: np.exp(_entropy(c, k) / np.log(2)), "same base"),
    (lambda c, k: len(np.unique(c)), "usage"),
    (lambda c, k: np.exp(_entropy(c, k)) / k, "not a fraction"),
    (_perplexity_keeping_zeros, "nan"),
    (lambda c, k: 1 / np.exp(_entropy(c, k)), "minus sign"),
    (lambda c, k: 2 ** _entropy(c, k), "same base"),
])
def test_codebook_perplexity_mistakes_are_explained(wrong, message):
    result = check.codebook_perplexity(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def _swapped(k, t):
    return causal_mask(k, "B" if t == "A" else "A")


def _whole_row(k, t):
    m = causal_mask(k, t)
    m[k // 2, k // 2 + 1:] = 1
    return m


def _above_only(k, t):
    m = causal_mask(k, t)
    m[k // 2, : k // 2] = 0
    return m


@pytest.mark.parametrize("wrong, message", [
    (_swapped, "swapped"),
    (_whole_row, "whole centre row"),
    (_above_only, "left of the centre"),
    (lambda k, t: causal_mask(k, t).T, "column by column"),
    (lambda k, t: causal_mask(k, "B"), "always B"),
    (lambda k, t: causal_mask(k, "A"), "always A"),
    (lambda k, t: causal_mask(k, t)[::-1], "below"),
    (lambda k, t: causal_mask(k, t)[:, ::-1], "right"),
])
def test_causal_mask_mistakes_are_explained(wrong, message):
    result = check.causal_mask(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def test_an_unrecognised_wrong_answer_names_the_failing_case():
    result = check.causal_mask(lambda k, t: np.ones((k, k)))
    assert result.status == FAILED and "kernel 3, mask A" in result.message, str(result)
