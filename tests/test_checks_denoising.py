"""Notebook 04's exercise checkers: the reference answers pass, plausible wrong answers get their message."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import denoising as check

# ---------------------------------------------------------------------- Gaussian noise


def gauss_right(x, sigma, rng):
    return np.clip(x + rng.normal(0.0, sigma, size=x.shape), 0.0, 1.0)


def gauss_no_clip(x, sigma, rng):
    return x + rng.normal(0.0, sigma, size=x.shape)


def gauss_variance(x, sigma, rng):
    return np.clip(x + rng.normal(0.0, sigma**2, size=x.shape), 0.0, 1.0)


def gauss_global_rng(x, sigma, rng):
    return np.clip(x + np.random.normal(0.0, sigma, size=x.shape), 0.0, 1.0)  # noqa: NPY002 (the mistake)


def gauss_in_place(x, sigma, rng):
    x += rng.normal(0.0, sigma, size=x.shape)
    np.clip(x, 0.0, 1.0, out=x)
    return x


def gauss_one_image(x, sigma, rng):
    return np.clip(x + rng.normal(0.0, sigma, size=x.shape[1:]), 0.0, 1.0)


def gauss_uniform(x, sigma, rng):
    return np.clip(x + rng.uniform(-sigma, sigma, size=x.shape), 0.0, 1.0)


def test_gaussian_noise_reference_passes():
    result = check.gaussian_noise(gauss_right)
    assert result.status == PASSED, result
    assert "standard deviation" in result.message


@pytest.mark.parametrize(("wrong", "words"), [
    (gauss_no_clip, "clip the noisy images"),
    (gauss_variance, "used the variance as the scale"),
    (gauss_global_rng, "same seed gave different noise"),
    (gauss_in_place, "changed its input `x` in place"),
    (gauss_one_image, "every image got the same noise pattern"),
    (gauss_uniform, "standard deviation"),
    (lambda x, sigma, rng: x, "come back unchanged"),
    (lambda x, sigma, rng: np.clip(x + np.abs(rng.normal(0.0, sigma, size=x.shape)), 0, 1), "averages"),
])
def test_gaussian_noise_mistakes_get_their_message(wrong, words):
    result = check.gaussian_noise(wrong)
    assert result.status == FAILED
    assert words in result.message, result.message


def test_gaussian_noise_stub_and_errors():
    def stub(x, sigma, rng):
        raise NotImplementedError

    assert check.gaussian_noise(stub).status == NOT_ATTEMPTED
    result = check.gaussian_noise(lambda x, sigma, rng: x[0] + rng.normal(size=3))
    assert result.status == FAILED and "raised" in result.message
    assert "forget `return`" in check.gaussian_noise(lambda x, sigma, rng: None).message
    assert "shape" in check.gaussian_noise(lambda x, sigma, rng: gauss_right(x, sigma, rng)[:1]).message


# ---------------------------------------------------------------------- salt and pepper


def sp_right(x, amount, rng):
    out = x.copy()
    hit = rng.random(x.shape) < amount
    salt = rng.random(x.shape) < 0.5
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return out


def sp_separately(x, amount, rng):
    out = x.copy()
    out[rng.random(x.shape) < amount] = 0.0
    out[rng.random(x.shape) < amount] = 1.0
    return out


def sp_all_salt(x, amount, rng):
    out = x.copy()
    out[rng.random(x.shape) < amount] = 1.0
    return out


def sp_random_values(x, amount, rng):
    out = x.copy()
    hit = rng.random(x.shape) < amount
    out[hit] = rng.random(int(hit.sum()))
    return out


def sp_half_amount(x, amount, rng):
    return sp_right(x, amount / 2, rng)


def test_salt_and_pepper_reference_passes():
    result = check.salt_and_pepper(sp_right)
    assert result.status == PASSED, result


@pytest.mark.parametrize(("wrong", "words"), [
    (sp_separately, "chose the salt pixels and the pepper pixels separately"),
    (sp_all_salt, "every changed pixel became 1"),
    (sp_random_values, "exactly 0 or 1"),
    (sp_half_amount, "salt plus pepper"),
    (lambda x, a, rng: sp_right(x, a, np.random.default_rng()), "same seed gave a different result"),
    (lambda x, a, rng: x, "no pixel changed"),
])
def test_salt_and_pepper_mistakes_get_their_message(wrong, words):
    result = check.salt_and_pepper(wrong)
    assert result.status == FAILED
    assert words in result.message, result.message


# ---------------------------------------------------------------------- Tweedie


def tweedie_right(y, mu, s, sigma):
    score = -(y - mu) / (s**2 + sigma**2)
    return y + sigma**2 * score


def test_tweedie_reference_and_the_posterior_mean_agree():
    assert check.tweedie_denoiser(tweedie_right).status == PASSED
    # the textbook posterior mean of a Gaussian prior is the same function
    posterior = check.tweedie_denoiser(lambda y, mu, s, sigma: (s**2 * y + sigma**2 * mu) / (s**2 + sigma**2))
    assert posterior.status == PASSED


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda y, mu, s, sigma: y - sigma**2 * (y - mu) / s**2, "density is N(mu, s^2 + sigma^2)"),
    (lambda y, mu, s, sigma: y + sigma**2 * (y - mu) / (s**2 + sigma**2), "sign of the score is wrong"),
    (lambda y, mu, s, sigma: y - sigma * (y - mu) / (s**2 + sigma**2), "multiplied the score by sigma"),
    (lambda y, mu, s, sigma: y, "returned the observation unchanged"),
])
def test_tweedie_mistakes_get_their_message(wrong, words):
    result = check.tweedie_denoiser(wrong)
    assert result.status == FAILED
    assert words in result.message, result.message


# ---------------------------------------------------------------------- hole MSE


def test_hole_mse_reference_passes():
    assert check.hole_mse(lambda x, x_hat, mask: np.mean((x_hat - x)[mask] ** 2)).status == PASSED


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda x, x_hat, mask: np.mean((x_hat - x) ** 2), "whole image"),
    (lambda x, x_hat, mask: np.mean((x_hat - x)[~mask] ** 2), "known pixels"),
    (lambda x, x_hat, mask: np.sum((x_hat - x)[mask] ** 2), "summed"),
    (lambda x, x_hat, mask: np.mean(np.abs(x_hat - x)[mask]), "absolute errors"),
])
def test_hole_mse_mistakes_get_their_message(wrong, words):
    result = check.hole_mse(wrong)
    assert result.status == FAILED
    assert words in result.message, result.message
