"""Notebook 06's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import frechet, likelihoods
from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import cvae as check


def _stub(*args, **kwargs):
    raise NotImplementedError


# --- the answers a learner would write (the worked answers of notebook 06) -------------------

def condition(features, labels, n_classes):
    one_hot = np.eye(n_classes)[labels]
    return np.concatenate([features, one_hot], axis=1)


def beta_elbo_terms(x, logits, mean, log_var, beta):
    n = len(x)
    log_px = np.sum((x * logits - np.logaddexp(0, logits)).reshape(n, -1), axis=1)
    kl = 0.5 * np.sum(np.exp(log_var) + mean**2 - 1 - log_var, axis=1)
    rate, distortion = kl.mean(), -log_px.mean()
    return rate, distortion, distortion + beta * rate


def frechet_gaussians(mu_a, sigma_a, mu_b, sigma_b):
    lam, u = np.linalg.eigh(sigma_a)
    root_a = u @ np.diag(np.sqrt(np.clip(lam, 0, None))) @ u.T
    middle = root_a @ sigma_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0, None)).sum()
    diff = mu_a - mu_b
    return diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root


# --- the reference answers pass, stubs are "not attempted" ------------------------------------

@pytest.mark.parametrize("checker, answer", [
    (check.one_hot_condition, condition),
    (check.beta_elbo_terms, beta_elbo_terms),
    (check.frechet_gaussians, frechet_gaussians),
])
def test_reference_answers_pass_and_stubs_are_not_attempted(checker, answer):
    result = checker(answer)
    assert result.status == PASSED, str(result)
    assert checker(_stub).status == NOT_ATTEMPTED


def test_the_reference_terms_agree_with_course_lib_likelihoods():
    rng = np.random.default_rng(0)
    x = (rng.random((4, 5, 5)) < 0.5).astype("float32")
    logits = rng.normal(size=(4, 5, 5)).astype("float32")
    mean, log_var = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    rate, distortion, loss = beta_elbo_terms(x, logits, mean, log_var, 2.0)
    lib_rate = float(np.mean(np.asarray(likelihoods.kl_standard_normal(mean, log_var))))
    lib_distortion = -float(np.mean(np.asarray(likelihoods.bernoulli_log_prob(x, logits))))
    assert rate == pytest.approx(lib_rate, rel=1e-5)
    assert distortion == pytest.approx(lib_distortion, rel=1e-5)
    assert loss == pytest.approx(lib_distortion + 2.0 * lib_rate, rel=1e-5)


def test_the_reference_frechet_agrees_with_course_lib_on_sample_statistics():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(500, 4)), rng.normal(1.0, 2.0, size=(400, 4)) @ rng.normal(size=(4, 4))
    expected = frechet.frechet_distance(a, b)
    got = frechet_gaussians(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert got == pytest.approx(expected, rel=1e-8)


# --- one_hot_condition: wrong answers ----------------------------------------------------------

def _fails_with(result, *words):
    assert result.status == FAILED, str(result)
    for word in words:
        assert word in result.message, result.message


def test_condition_label_first_is_explained():
    _fails_with(check.one_hot_condition(
        lambda f, y, k: np.concatenate([np.eye(k)[y], f], axis=1)), "before the features")


def test_condition_raw_label_is_explained():
    _fails_with(check.one_hot_condition(
        lambda f, y, k: np.concatenate([f, y[:, None]], axis=1)), "as one number", "one-hot")


def test_condition_shifted_one_hot_is_explained():
    _fails_with(check.one_hot_condition(
        lambda f, y, k: np.concatenate([f, np.eye(k + 1)[y][:, 1:]], axis=1)), "shifted by one")


def test_condition_fixed_ten_classes_is_explained():
    _fails_with(check.one_hot_condition(
        lambda f, y, k: np.concatenate([f, np.eye(10)[y]], axis=1)), "use n_classes")


# --- beta_elbo_terms: wrong answers ------------------------------------------------------------

def test_beta_on_the_distortion_is_explained():
    def wrong(x, logits, mean, log_var, beta):
        rate, distortion, _ = beta_elbo_terms(x, logits, mean, log_var, beta)
        return rate, distortion, beta * distortion + rate
    _fails_with(check.beta_elbo_terms(wrong), "beta multiplies the distortion")


def test_mean_instead_of_sum_is_explained():
    def wrong(x, logits, mean, log_var, beta):
        log_px = np.mean((x * logits - np.logaddexp(0, logits)).reshape(len(x), -1), axis=1)
        kl = 0.5 * np.mean(np.exp(log_var) + mean**2 - 1 - log_var, axis=1)
        return kl.mean(), -log_px.mean(), -log_px.mean() + beta * kl.mean()
    _fails_with(check.beta_elbo_terms(wrong), "sum the Bernoulli")


def test_bits_instead_of_nats_is_explained():
    def wrong(x, logits, mean, log_var, beta):
        return np.array(beta_elbo_terms(x, logits, mean, log_var, beta)) / np.log(2)
    _fails_with(check.beta_elbo_terms(wrong), "bits", "nats")


def test_kl_sign_is_explained():
    def wrong(x, logits, mean, log_var, beta):
        _, distortion, _ = beta_elbo_terms(x, logits, mean, log_var, beta)
        rate = (0.5 * np.sum(np.exp(log_var) + mean**2 - 1 + log_var, axis=1)).mean()
        return rate, distortion, distortion + beta * rate
    _fails_with(check.beta_elbo_terms(wrong), "sign of log_var")


def test_logits_as_probabilities_is_explained():
    def wrong(x, logits, mean, log_var, beta):
        p = np.clip(logits, 1e-7, 1 - 1e-7)
        log_px = np.sum((x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1), axis=1)
        rate, _, _ = beta_elbo_terms(x, logits, mean, log_var, beta)
        return rate, -log_px.mean(), -log_px.mean() + beta * rate
    _fails_with(check.beta_elbo_terms(wrong), "logits as probabilities", "softplus")


def test_an_unrecognised_wrong_answer_shows_expected_and_got():
    result = check.beta_elbo_terms(lambda x, logits, mean, log_var, beta: (0.0, 0.0, 0.0))
    _fails_with(result, "expected", "but got")


# --- frechet_gaussians: wrong answers ----------------------------------------------------------

def test_norm_instead_of_squared_norm_is_explained():
    def wrong(mu_a, sigma_a, mu_b, sigma_b):
        diff = mu_a - mu_b
        return frechet_gaussians(mu_a, sigma_a, mu_b, sigma_b) - diff @ diff + np.linalg.norm(diff)
    _fails_with(check.frechet_gaussians(wrong), "squared")


def test_missing_factor_two_is_explained():
    def wrong(mu_a, sigma_a, mu_b, sigma_b):
        full = frechet_gaussians(mu_a, sigma_a, mu_b, sigma_b)
        cross = (np.trace(sigma_a) + np.trace(sigma_b) + (mu_a - mu_b) @ (mu_a - mu_b) - full) / 2
        return full + cross
    _fails_with(check.frechet_gaussians(wrong), "factor 2")


def test_elementwise_square_root_is_explained():
    def wrong(mu_a, sigma_a, mu_b, sigma_b):
        diff = mu_a - mu_b
        return diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2 * np.trace(np.sqrt(np.abs(sigma_a * sigma_b)))
    _fails_with(check.frechet_gaussians(wrong), "element by element", "matrix square root")


def test_means_only_is_explained():
    _fails_with(check.frechet_gaussians(lambda mu_a, sigma_a, mu_b, sigma_b: (mu_a - mu_b) @ (mu_a - mu_b)),
                "only the means")
