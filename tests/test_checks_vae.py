"""Notebook 05's exercise checkers accept the reference answers and explain the usual mistakes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import vae as check


def _stub(*args):
    raise NotImplementedError


# ---------------------------------------------------------------------- reference answers pass


def _kl(mean, log_var):
    return 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)


def _kl_keras(mean, log_var):
    from keras import ops

    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


def _reparameterize(mean, log_var, eps):
    return mean + np.exp(0.5 * log_var) * eps


def _iw_bound(log_w):
    top = log_w.max(axis=0)
    return top + np.log(np.mean(np.exp(log_w - top), axis=0))


def _iw_bound_keras(log_w):
    from keras import ops

    return ops.logsumexp(log_w, axis=0) - np.log(log_w.shape[0])


def _bits_per_dim(nats, n_dims):
    return nats / (n_dims * math.log(2.0))


@pytest.mark.parametrize(("checker", "answer"), [
    (check.gaussian_kl, _kl),
    (check.gaussian_kl, _kl_keras),
    (check.reparameterize, _reparameterize),
    (check.iw_bound, _iw_bound),
    (check.iw_bound, _iw_bound_keras),
    (check.bits_per_dim, _bits_per_dim),
])
def test_reference_answers_pass(checker, answer):
    result = checker(answer)
    assert result.status == PASSED, result.message
    assert str(result).startswith("✓")


@pytest.mark.parametrize("checker", [check.gaussian_kl, check.reparameterize, check.iw_bound,
                                     check.bits_per_dim])
def test_untouched_stubs_are_not_attempted(checker):
    result = checker(_stub)
    assert result.status == NOT_ATTEMPTED and "not attempted yet" in str(result)


# ---------------------------------------------------------------------- wrong answers, right words


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda m, v: -_kl(m, v), "sign is wrong"),
    (lambda m, v: 0.5 * (np.exp(v) + m**2 - 1.0 - v), "sum over the last axis"),
    (lambda m, v: 0.5 * np.mean(np.exp(v) + m**2 - 1.0 - v, axis=-1), "*sum*"),
    (lambda m, v: np.sum(np.exp(v) + m**2 - 1.0 - v, axis=-1), "factor 1/2"),
    (lambda m, v: 0.5 * np.sum(np.exp(2 * v) + m**2 - 1.0 - 2 * v, axis=-1), "log *variance*"),
    (lambda m, v: _kl(m, v) / np.log(2.0), "in bits"),
])
def test_gaussian_kl_mistakes(wrong, words):
    result = check.gaussian_kl(wrong)
    assert result.status == FAILED and words in result.message, result.message


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda m, v, e: m + np.exp(v) * e, "by the variance"),
    (lambda m, v, e: m + v * e, "by log_var itself"),
    (lambda m, v, e: m + np.exp(0.5 * v) + e, "instead of multiplying"),
    (lambda m, v, e: np.exp(0.5 * v) * e, "forgot the mean"),
])
def test_reparameterize_mistakes(wrong, words):
    result = check.reparameterize(wrong)
    assert result.status == FAILED and words in result.message, result.message


def _naive(log_w):
    return np.log(np.mean(np.exp(log_w), axis=0))


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda w: w.max(axis=0) + np.log(np.sum(np.exp(w - w.max(axis=0)), axis=0)), "subtract log k"),
    (lambda w: np.mean(w, axis=0), "that is the ELBO"),
    (_naive, "underflows"),
    (lambda w: _iw_bound(w.T), "wrong axis"),
])
def test_iw_bound_mistakes(wrong, words):
    with np.errstate(divide="ignore", over="ignore"):
        result = check.iw_bound(wrong)
    assert result.status == FAILED and words in result.message, result.message


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda nats, d: nats / d, "nats per dimension"),
    (lambda nats, d: nats / math.log(2.0), "bits per image"),
    (lambda nats, d: nats * math.log(2.0) / d, "instead of dividing"),
    (lambda nats, d: nats / (d * math.log(10.0)), "ln 10"),
])
def test_bits_per_dim_mistakes(wrong, words):
    result = check.bits_per_dim(wrong)
    assert result.status == FAILED and words in result.message, result.message


def test_an_unknown_mistake_names_the_case_and_hints():
    result = check.gaussian_kl(lambda m, v: _kl(m, v) + 1.0)
    assert result.status == FAILED
    assert "prior itself" in result.message and "sum over the last axis" in result.message
