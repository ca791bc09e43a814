"""Notebook 07's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from course_lib import two_sample
from course_lib.adversarial import _bce_with_logits
from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import adversarial as check


def _stub(*args, **kwargs):
    raise NotImplementedError


# --- the answers a learner would write (the worked answers of notebook 07) -------------------

def discriminator_loss(logits_real, logits_fake):
    return ops.mean(ops.softplus(-ops.convert_to_tensor(logits_real))) + ops.mean(
        ops.softplus(ops.convert_to_tensor(logits_fake)))


def mmd2(x, y, bandwidth):
    def k(a, b):
        d2 = np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)
        return np.exp(-d2 / (2 * bandwidth**2))

    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


def r1_penalty(discriminator, w):
    w = ops.convert_to_tensor(w)
    with tf.GradientTape() as tape:
        tape.watch(w)
        total = ops.sum(discriminator(w))
    grad = tape.gradient(total, w)
    return ops.mean(ops.sum(grad**2, axis=-1))


@pytest.mark.parametrize(("checker", "answer"), [
    (check.discriminator_loss, discriminator_loss),
    (check.mmd2, mmd2),
    (check.r1_penalty, r1_penalty),
])
def test_reference_answers_pass_and_stubs_are_not_attempted(checker, answer):
    result = checker(answer)
    assert result.status == PASSED, result.message
    assert checker(_stub).status == NOT_ATTEMPTED


def test_the_references_agree_with_course_lib():
    real, fake = np.array([2.0, -1.0, 40.0]), np.array([-3.0, 0.5])
    lib = float(_bce_with_logits(1.0, real) + _bce_with_logits(0.0, fake))
    assert check._d_loss(real, fake) == pytest.approx(lib, rel=1e-6)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(20, 2)) + 0.5
    assert check._mmd2(x, y, 0.7) == pytest.approx(two_sample.mmd2(x, y, bandwidth=0.7), rel=1e-9)


# --- wrong answers get the right message ----------------------------------------------------

def _message(checker, fn):
    result = checker(fn)
    assert result.status == FAILED
    return result.message


def test_discriminator_loss_mistakes():
    def naive(lr, lf):
        lr, lf = np.asarray(lr, np.float64), np.asarray(lf, np.float64)
        with np.errstate(over="ignore", divide="ignore"):
            return -np.mean(np.log(1 / (1 + np.exp(-lr)))) - np.mean(np.log(1 - 1 / (1 + np.exp(-lf))))

    assert "underflows" in _message(check.discriminator_loss, naive)
    assert "swapped" in _message(check.discriminator_loss, lambda lr, lf: discriminator_loss(lf, lr))
    assert "you sum over the batch" in _message(
        check.discriminator_loss,
        lambda lr, lf: ops.sum(ops.softplus(-ops.convert_to_tensor(lr))) + ops.sum(ops.softplus(ops.convert_to_tensor(lf))))
    assert "wrong sign" in _message(check.discriminator_loss, lambda lr, lf: -discriminator_loss(lr, lf))


def test_mmd2_mistakes():
    def unbiased(x, y, h):
        def within(a):
            d2 = np.sum((a[:, None] - a[None]) ** 2, -1)
            kk = np.exp(-d2 / (2 * h * h))
            return (kk.sum() - len(a)) / (len(a) * (len(a) - 1))

        cross = np.exp(-np.sum((x[:, None] - y[None]) ** 2, -1) / (2 * h * h)).mean()
        return within(x) + within(y) - 2 * cross

    assert "self-pairs" in _message(check.mmd2, unbiased)

    def no_two(x, y, h):
        def k(a, b):
            return np.exp(-np.sum((a[:, None] - b[None]) ** 2, -1) / (2 * h * h))

        return k(x, x).mean() + k(y, y).mean() - k(x, y).mean()

    assert "factor 2" in _message(check.mmd2, no_two)

    def no_half(x, y, h):
        def k(a, b):
            return np.exp(-np.sum((a[:, None] - b[None]) ** 2, -1) / (h * h))

        return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()

    assert "(2 h²)" in _message(check.mmd2, no_half)

    def distance(x, y, h):
        def k(a, b):
            return np.exp(-np.sqrt(np.sum((a[:, None] - b[None]) ** 2, -1)) / (2 * h * h))

        return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()

    assert "squared distance" in _message(check.mmd2, distance)


def test_r1_penalty_mistakes():
    def of_mean(d, w):
        w = ops.convert_to_tensor(w)
        with tf.GradientTape() as tape:
            tape.watch(w)
            total = ops.mean(d(w))
        return ops.mean(ops.sum(tape.gradient(total, w) ** 2, axis=-1))

    assert "*mean* of the logits" in _message(check.r1_penalty, of_mean)

    def norm(d, w):
        w = ops.convert_to_tensor(w)
        with tf.GradientTape() as tape:
            tape.watch(w)
            total = ops.sum(d(w))
        return ops.mean(ops.norm(tape.gradient(total, w), axis=-1))

    assert "*squared* norm" in _message(check.r1_penalty, norm)

    def summed(d, w):
        w = ops.convert_to_tensor(w)
        with tf.GradientTape() as tape:
            tape.watch(w)
            total = ops.sum(d(w))
        return ops.sum(tape.gradient(total, w) ** 2)

    assert "summed the squared gradients" in _message(check.r1_penalty, summed)


def test_an_unknown_wrong_answer_names_the_failing_case():
    message = _message(check.r1_penalty, lambda d, w: 1.0)
    assert "linear" in message and "expected 25" in message
