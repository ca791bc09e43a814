"""Notebook 09's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib import classic_codecs, compression
from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import compression as check


def _stub(*args, **kwargs):
    raise NotImplementedError


def _sigmoid(t):
    return 1 / (1 + np.exp(-t))


# --- the answers a learner would write (the worked answers of notebook 09) -------------------

def code_bits(codes, loc, scale):
    mass = _sigmoid((codes + 0.5 - loc) / scale) - _sigmoid((codes - 0.5 - loc) / scale)
    return -np.log2(mass).reshape(len(codes), -1).sum(axis=1)


def bytes_at_psnr(sizes, psnr, target):
    order = np.argsort(sizes)
    return np.interp(target, psnr[order], sizes[order])


@pytest.mark.parametrize("checker, answer", [(check.code_bits, code_bits), (check.bytes_at_psnr, bytes_at_psnr)])
def test_reference_answers_pass_and_stubs_are_not_attempted(checker, answer):
    assert checker(answer).status == PASSED, str(checker(answer))
    assert checker(_stub).status == NOT_ATTEMPTED


def test_the_answers_agree_with_course_lib():
    rng = np.random.default_rng(0)
    codes = rng.integers(-3, 4, size=(3, 7, 7, 2))
    loc, scale = np.array([0.1, -0.4]), np.array([0.8, 1.7])
    expected = compression.logistic_bits(codes, loc, scale).reshape(3, -1).sum(1)
    np.testing.assert_allclose(code_bits(codes, loc, scale), expected, rtol=1e-9)
    sizes, psnr = np.array([100.0, 140.0, 200.0]), np.array([23.0, 26.0, 29.0])
    assert bytes_at_psnr(sizes, psnr, 27.5) == pytest.approx(classic_codecs.bytes_at_psnr(sizes, psnr, 27.5))


@pytest.mark.parametrize("wrong, message", [
    (lambda c, m, s: code_bits(c, m, s) * np.log(2), "nats"),
    (lambda c, m, s: -np.log2(_sigmoid((c - m) / s) * (1 - _sigmoid((c - m) / s)) / s).reshape(len(c), -1).sum(1),
     "density"),
    (lambda c, m, s: -np.log2(_sigmoid((c + 1 - m) / s) - _sigmoid((c - m) / s)).reshape(len(c), -1).sum(1),
     r"\[k, k \+ 1\]"),
    (lambda c, m, s: code_bits(c, m, s) / np.prod(np.shape(c)[1:]), "sum"),
    (lambda c, m, s: code_bits(c, m, np.ones_like(s)), "ignore the scale"),
    (lambda c, m, s: np.log2(_sigmoid((c + 0.5 - m) / s) - _sigmoid((c - 0.5 - m) / s)).reshape(len(c), -1).sum(1),
     "negative"),
])
def test_code_bits_explains_mistakes(wrong, message):
    result = check.code_bits(wrong)
    assert result.status == FAILED
    assert re.search(message, result.message), result.message


@pytest.mark.parametrize("wrong, message", [
    (lambda b, p, t: np.interp(t, np.sort(b), p[np.argsort(b)]), "PSNR as a function of bytes"),
    (lambda b, p, t: np.interp(t, p, b), "increasing order"),
    (lambda b, p, t: b[np.argmin(np.abs(p - t))], "nearest point"),
])
def test_bytes_at_psnr_explains_mistakes(wrong, message):
    result = check.bytes_at_psnr(wrong)
    assert result.status == FAILED
    assert message in result.message, result.message


def test_a_wrong_answer_that_is_no_known_mistake_names_the_case():
    result = check.code_bits(lambda c, m, s: code_bits(c, m, s) + 1.0)
    assert result.status == FAILED and "expected" in result.message
