"""Notebook 03's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from course_lib import metrics
from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import conv as check


def _stub(*args, **kwargs):
    raise NotImplementedError


# --- the answers a learner would write (the worked answers of notebook 03) -------------------

def conv_size(size, kernel_size, stride, padding):
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel_size) // stride + 1


def tconv_size(size, kernel_size, stride, padding):
    if padding == "same":
        return size * stride
    return (size - 1) * stride + kernel_size


def conv_params(kernel_size, c_in, c_out, use_bias=True):
    return kernel_size * kernel_size * c_in * c_out + (c_out if use_bias else 0)


def psnr_per_image(x, x_hat):
    mse_per_image = np.mean((x - x_hat) ** 2, axis=(1, 2, 3))
    return 10 * np.log10(1 / mse_per_image)


@pytest.mark.parametrize(("checker", "answer"), [
    (check.conv_output_size, conv_size),
    (check.transposed_output_size, tconv_size),
    (check.conv2d_params, conv_params),
    (check.psnr_per_image, psnr_per_image),
])
def test_reference_answers_pass_and_stubs_are_not_attempted(checker, answer):
    result = checker(answer)
    assert result.status == PASSED, result.message
    assert checker(_stub).status == NOT_ATTEMPTED


def test_the_references_agree_with_keras_layers():
    for size, k, s, pad in [(28, 3, 2, "same"), (7, 3, 2, "same"), (28, 5, 2, "valid"), (14, 3, 2, "valid")]:
        out = keras.layers.Conv2D(1, k, strides=s, padding=pad)(np.zeros((1, size, size, 1), "float32"))
        assert out.shape[1] == conv_size(size, k, s, pad)
    for size, k, s, pad in [(7, 3, 2, "same"), (7, 3, 2, "valid"), (7, 4, 2, "valid"), (5, 3, 1, "valid")]:
        out = keras.layers.Conv2DTranspose(1, k, strides=s, padding=pad)(np.zeros((1, size, size, 1), "float32"))
        assert out.shape[1] == tconv_size(size, k, s, pad)
    layer = keras.layers.Conv2D(64, 3, use_bias=False)
    layer.build((None, 14, 14, 16))
    assert layer.count_params() == conv_params(3, 16, 64, use_bias=False)


def test_psnr_reference_matches_course_metrics():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(4, 28, 28, 1))
    x_hat = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)
    np.testing.assert_allclose(psnr_per_image(x, x_hat), metrics.per_example_psnr(x, x_hat), rtol=1e-10)


CONV_SIZE_MISTAKES = [
    (lambda n, k, s, p: math.ceil(n / s) if p == "same" else (n - k) // s, "forgot the + 1"),
    (lambda n, k, s, p: n // s if p == "same" else (n - k) // s + 1, "rounds up, not down"),
    (lambda n, k, s, p: n if p == "same" else n - k + 1, "ignore the stride"),
]
TCONV_SIZE_MISTAKES = [
    (conv_size, "ordinary convolution"),
    (lambda n, k, s, p: (n - 1) * s + k, "crops the output to exactly size * stride"),
    (lambda n, k, s, p: n * s, "the last patch sticks out"),
]
CONV_PARAMS_MISTAKES = [
    (lambda k, ci, co, use_bias=True: k * k * ci * co, "left out the biases"),
    (lambda k, ci, co, use_bias=True: k * k * ci * co + co, "even when use_bias=False"),
    (lambda k, ci, co, use_bias=True: k * k * co + (co if use_bias else 0), "ignores the input channels"),
    (lambda k, ci, co, use_bias=True: k * ci * co + (co if use_bias else 0), "k² weights"),
]
PSNR_MISTAKES = [
    (lambda x, x_hat: 10 * np.log10(1 / np.mean((x - x_hat) ** 2)), "you return one number"),
    (lambda x, x_hat: np.full(len(x), 10 * np.log10(1 / np.mean((x - x_hat) ** 2))), "the same value"),
    (lambda x, x_hat: 10 * np.log(1 / np.mean((x - x_hat) ** 2, axis=(1, 2, 3))), "natural logarithm"),
    (lambda x, x_hat: 20 * np.log10(1 / np.mean((x - x_hat) ** 2, axis=(1, 2, 3))), "20 · log10 is for amplitudes"),
    (lambda x, x_hat: 10 * np.log10(np.mean((x - x_hat) ** 2, axis=(1, 2, 3))), "the sign is wrong"),
]


@pytest.mark.parametrize(("checker", "wrong", "words"),
                         [(check.conv_output_size, w, m) for w, m in CONV_SIZE_MISTAKES]
                         + [(check.transposed_output_size, w, m) for w, m in TCONV_SIZE_MISTAKES]
                         + [(check.conv2d_params, w, m) for w, m in CONV_PARAMS_MISTAKES]
                         + [(check.psnr_per_image, w, m) for w, m in PSNR_MISTAKES])
def test_plausible_mistakes_get_their_message(checker, wrong, words):
    result = checker(wrong)
    assert result.status == FAILED
    assert words in result.message, result.message


def test_an_unknown_mistake_names_a_case_and_the_rule():
    result = check.conv_output_size(lambda n, k, s, p: n // 2)
    assert result.status == FAILED
    assert "expected" in result.message and "ceil(size / stride)" in result.message
