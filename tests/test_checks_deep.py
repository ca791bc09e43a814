"""Notebook 02's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import deep as check

# --------------------------------------------------------------------------- L1 activity penalty


def l1_right(z, lam):
    return lam * np.mean(np.sum(np.abs(z), axis=1))


def l1_keras(z, lam):
    """Keras's own activity penalty (L1 on the batch, divided by the batch size) is the reference."""
    import keras

    return float(keras.regularizers.L1(lam)(keras.ops.convert_to_tensor(z, "float32"))) / len(z)


def test_l1_reference_and_keras_pass():
    assert check.l1_activity_penalty(l1_right).status == PASSED
    assert check.l1_activity_penalty(l1_keras).status == PASSED


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda z, lam: lam * np.mean(np.sum(z ** 2, axis=1)), "L2 penalty"),
    (lambda z, lam: lam * np.mean(np.sum(z, axis=1)), "without taking their absolute value"),
    (lambda z, lam: lam * np.mean(np.abs(z)), "average over the code units"),
    (lambda z, lam: lam * np.sum(np.abs(z)), "sum over the batch"),
    (lambda z, lam: np.mean(np.sum(np.abs(z), axis=1)), "forgot to multiply by λ"),
])
def test_l1_mistakes_get_their_message(wrong, words):
    result = check.l1_activity_penalty(wrong)
    assert result.status == FAILED
    assert words in result.message


def test_l1_stub_and_unknown_mistake():
    def stub(z, lam):
        raise NotImplementedError

    assert check.l1_activity_penalty(stub).status == NOT_ATTEMPTED
    other = check.l1_activity_penalty(lambda z, lam: l1_right(z, lam) + 0.1)
    assert other.status == FAILED and "expected" in other.message and "sum over the units" in other.message


# --------------------------------------------------------------------------- dead units


def dead_right(z, tol=0.0):
    return np.mean(np.all(np.abs(z) <= tol, axis=0))


def dead_loop(z, tol=0.0):
    z = np.asarray(z)
    return sum(all(abs(v) <= tol for v in z[:, j]) for j in range(z.shape[1])) / z.shape[1]


def test_dead_reference_passes():
    assert check.dead_unit_fraction(dead_right).status == PASSED
    assert check.dead_unit_fraction(dead_loop).status == PASSED


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda z, tol=0.0: np.mean(np.abs(z) <= tol), "that measures sparsity"),
    (lambda z, tol=0.0: np.mean(np.any(np.abs(z) <= tol, axis=0)), "zero for *some* image"),
    (lambda z, tol=0.0: np.mean(np.all(np.abs(z) <= tol, axis=1)), "wrong axis"),
    (lambda z, tol=0.0: np.sum(np.all(np.abs(z) <= tol, axis=0)), "number of dead units"),
    (lambda z, tol=0.0: np.mean(np.all(z == 0, axis=0)), "you ignore `tol`"),
])
def test_dead_mistakes_get_their_message(wrong, words):
    result = check.dead_unit_fraction(wrong)
    assert result.status == FAILED
    assert words in result.message


def test_dead_stub_is_not_attempted():
    def stub(z, tol=0.0):
        raise NotImplementedError

    assert check.dead_unit_fraction(stub).status == NOT_ATTEMPTED

