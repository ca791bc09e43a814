"""Notebook 01's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import mlp as check


def _stub(*args, **kwargs):
    raise NotImplementedError


def _per_image_mse(x, x_hat):
    return ((x - x_hat) ** 2).reshape(len(x), -1).mean(axis=1)


# ---------------------------------------------------------------- psnr

def test_psnr_accepts_the_answer_and_the_course_metric():
    from course_lib import metrics

    assert check.psnr(lambda x, x_hat: np.mean(10 * np.log10(1 / _per_image_mse(x, x_hat)))).passed
    assert check.psnr(lambda x, x_hat: metrics.psnr(x, np.clip(x_hat, 0, 1)) if np.all(
        (x_hat >= 0) & (x_hat <= 1)) else np.mean(10 * np.log10(1 / _per_image_mse(x, x_hat)))).passed


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda x, x_hat: 10 * np.log10(1 / np.mean((x - x_hat) ** 2)), "PSNR of the mean MSE"),
    (lambda x, x_hat: np.mean(20 * np.log10(1 / _per_image_mse(x, x_hat))), "20·log10"),
    (lambda x, x_hat: np.mean(10 * np.log(1 / _per_image_mse(x, x_hat))), "natural log"),
    (lambda x, x_hat: 10 * np.log10(1 / _per_image_mse(x, x_hat)), "one PSNR per image"),
    (lambda x, x_hat: np.mean(10 * np.log10(1 / ((x - x_hat) ** 2).reshape(len(x), -1).sum(axis=1))),
     "sum the squared errors"),
])
def test_psnr_explains_mistakes(wrong, words):
    result = check.psnr(wrong)
    assert result.status == FAILED and words in result.message


def test_psnr_stub_and_unknown_mistake():
    assert check.psnr(_stub).status == NOT_ATTEMPTED
    odd = check.psnr(lambda x, x_hat: -np.mean(10 * np.log10(1 / _per_image_mse(x, x_hat))))
    assert odd.status == FAILED and "expected" in odd.message and "10·log10(1 / MSE_i)" in odd.message


# ---------------------------------------------------------------- best_linear_reconstruction

def _answer(x_train, x, k):
    a = x_train.reshape(len(x_train), -1)
    mean = a.mean(axis=0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    v = vt[:k].T
    return ((x.reshape(len(x), -1) - mean) @ v @ v.T + mean).reshape(x.shape)


def test_closed_form_accepts_the_answer_and_course_pca():
    from course_lib import linear

    assert check.best_linear_reconstruction(_answer).status == PASSED
    assert check.best_linear_reconstruction(
        lambda x_train, x, k: linear.fit_pca(x_train, k).reconstruct(x)).status == PASSED


def _uncentred(x_train, x, k):
    _, _, vt = np.linalg.svd(x_train.reshape(len(x_train), -1), full_matrices=False)
    v = vt[:k].T
    return (x.reshape(len(x), -1) @ v @ v.T).reshape(x.shape)


def _mean_not_added(x_train, x, k):
    mean = x_train.reshape(len(x_train), -1).mean(axis=0)
    return _answer(x_train, x, k) - mean.reshape(x.shape[1:])


def _smallest(x_train, x, k):
    a = x_train.reshape(len(x_train), -1)
    mean = a.mean(axis=0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    v = vt[-k:].T
    return ((x.reshape(len(x), -1) - mean) @ v @ v.T + mean).reshape(x.shape)


@pytest.mark.parametrize(("wrong", "words"), [
    (_uncentred, "without subtracting the mean"),
    (_mean_not_added, "do not add the mean back"),
    (_smallest, "last k singular vectors"),
])
def test_closed_form_explains_mistakes(wrong, words):
    result = check.best_linear_reconstruction(wrong)
    assert result.status == FAILED and words in result.message


def test_closed_form_flat_output_is_a_shape_error():
    result = check.best_linear_reconstruction(lambda x_train, x, k: _answer(x_train, x, k).reshape(len(x), -1))
    assert result.status == FAILED and "shape" in result.message


# ---------------------------------------------------------------- dense_autoencoder_params

def _count(d, hidden, k):
    widths = [d, *hidden, k, *reversed(hidden), d]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))


def test_param_count_accepts_the_answer_and_matches_keras():
    from course_lib import models

    assert check.dense_autoencoder_params(_count).status == PASSED
    assert _count(784, (256,), 32) == models.mlp_autoencoder((28, 28), 32, hidden=(256,)).count_params()


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda d, hidden, k: _count(d, hidden, k) - sum([*hidden, k, *reversed(hidden), d]), "not the biases"),
    (lambda d, hidden, k: sum(a * b + b for a, b in zip([d, *hidden], [*hidden, k], strict=True)),
     "encoder only"),
    (lambda d, hidden, k: _count(d, hidden, k) - sum([*hidden, k, *reversed(hidden), d])
     + 2 * (len(hidden) + 1), "a single bias"),
])
def test_param_count_explains_mistakes(wrong, words):
    result = check.dense_autoencoder_params(wrong)
    assert result.status == FAILED and words in result.message
