"""Log-densities, the analytic KL and the importance-weighted estimator.

The estimator is checked on a linear-Gaussian latent model, whose log p(x) is known exactly:
p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I)  =>  p(x) = N(b, W W^T + s^2 I).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import likelihoods as L


def _np(t):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(t), dtype=np.float64)


def test_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean = np.array([[0.5, -1.0, 0.0]], np.float32)
    log_var = np.array([[-1.0, 0.7, 0.0]], np.float32)
    z = mean + np.exp(0.5 * log_var) * rng.standard_normal((400_000, 3)).astype(np.float32)
    log_q = -0.5 * (np.log(2 * np.pi) + log_var + (z - mean) ** 2 / np.exp(log_var))
    log_p = -0.5 * (np.log(2 * np.pi) + z**2)
    mc = (log_q - log_p).mean(axis=0)
    exact = _np(L.kl_per_dimension(mean, log_var))[0]
    np.testing.assert_allclose(exact, mc, atol=0.01)
    assert exact[2] == pytest.approx(0.0, abs=1e-7)  # q = p in that dimension
    assert _np(L.kl_standard_normal(mean, log_var))[0] == pytest.approx(exact.sum(), rel=1e-6)


def test_bernoulli_log_prob_matches_probabilities_and_is_stable():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (4, 5, 5)).astype(np.float32)
    x = (rng.random((4, 5, 5)) < 0.5).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    direct = (x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(4, -1).sum(1)
    np.testing.assert_allclose(_np(L.bernoulli_log_prob(x, logits)), direct, rtol=1e-5)
    extreme = np.array([[-200.0, 200.0]], np.float32)
    value = _np(L.bernoulli_log_prob(np.array([[1.0, 0.0]], np.float32), extreme))
    assert np.isfinite(value).all() and value[0] == pytest.approx(-400.0, rel=1e-5)


def test_gaussian_log_prob_matches_formula_with_scalar_or_full_variance():
    rng = np.random.default_rng(2)
    x, mean = rng.random((3, 6)).astype(np.float32), rng.random((3, 6)).astype(np.float32)
    lv = -2.0
    direct = (-0.5 * (np.log(2 * np.pi) + lv + (x - mean) ** 2 / np.exp(lv))).sum(1)
    np.testing.assert_allclose(_np(L.gaussian_log_prob(x, mean, lv)), direct, rtol=1e-5)
    full = np.full_like(mean, lv)
    np.testing.assert_allclose(_np(L.gaussian_log_prob(x, mean, full)), direct, rtol=1e-5)
    z = np.zeros((2, 3), np.float32)
    assert _np(L.standard_normal_log_prob(z))[0] == pytest.approx(-1.5 * math.log(2 * math.pi))


def test_bits_per_dim_and_check_binary():
    assert L.bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_dims"):
        L.bits_per_dim(1.0, 0)
    assert L.check_binary(np.array([[0, 1.0]]), "t").dtype == np.float32
    with pytest.raises(ValueError, match="binary.*dynamic_binarize"):
        L.check_binary(np.array([[0.0, 0.5]]), "t")


class LinearGaussian:
    """p(z)=N(0,I), p(x|z)=N(Wz+b, s^2 I) with orthogonal columns of W (diagonal posterior)."""

    def __init__(self, dim_x: int = 6, dim_z: int = 3, s: float = 0.5, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((dim_x, dim_z)))
        self.W = q * np.array([2.0, 1.0, 0.5])[:dim_z]  # orthogonal columns, different norms
        self.b = rng.standard_normal(dim_x)
        self.s2 = s**2
        norms = (self.W**2).sum(0)
        self.post_var = 1.0 / (1.0 + norms / self.s2)

    def log_px(self, x: np.ndarray) -> np.ndarray:
        cov = self.W @ self.W.T + self.s2 * np.eye(len(self.b))
        diff = x - self.b
        _, logdet = np.linalg.slogdet(cov)
        maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
        return -0.5 * (len(self.b) * math.log(2 * math.pi) + logdet + maha)

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = self.post_var * ((x - self.b) @ self.W) / self.s2
        return mean, np.broadcast_to(np.log(self.post_var), mean.shape).copy()

    def log_lik(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        mu = z @ self.W.T + self.b
        return (-0.5 * (math.log(2 * math.pi * self.s2) + (x - mu) ** 2 / self.s2)).sum(1)

    def elbo(self, x: np.ndarray, mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
        var = np.exp(log_var)
        resid = x - self.b - mean @ self.W.T
        exp_ll = -0.5 * len(self.b) * math.log(2 * math.pi * self.s2) - 0.5 / self.s2 * (
            (resid**2).sum(1) + (var * (self.W**2).sum(0)).sum(1)
        )
        kl = 0.5 * (var + mean**2 - 1 - log_var).sum(1)
        return exp_ll - kl


@pytest.fixture(scope="module")
def lg():
    model = LinearGaussian()
    rng = np.random.default_rng(5)
    z = rng.standard_normal((40, 3))
    x = z @ model.W.T + model.b + 0.5 * rng.standard_normal((40, 6))
    return model, x.astype(np.float32)


def _encode(model, shift=0.0, scale=1.0):
    def encode(xb):
        mean, log_var = model.posterior(xb.astype(np.float64))
        return (mean + shift).astype(np.float32), (log_var + np.log(scale)).astype(np.float32)

    return encode


def test_exact_posterior_gives_exact_log_likelihood_for_any_k(lg):
    model, x = lg
    exact = model.log_px(x.astype(np.float64))
    for k in (1, 7):
        est = L.importance_weighted_log_likelihood(x, _encode(model), model.log_lik, k, seed=k)
        np.testing.assert_allclose(est, exact, atol=2e-4)


def test_k1_is_the_elbo_and_the_bound_tightens_with_k(lg):
    model, x = lg
    exact = model.log_px(x.astype(np.float64))
    enc = _encode(model, shift=0.6, scale=2.5)  # a deliberately poor proposal
    mean, log_var = (a.astype(np.float64) for a in enc(x))
    elbo = model.elbo(x.astype(np.float64), mean, log_var)
    draws = np.stack(
        [L.importance_weighted_log_likelihood(x, enc, model.log_lik, 1, seed=s) for s in range(300)]
    )
    np.testing.assert_allclose(draws.mean(0).mean(), elbo.mean(), atol=0.05)
    gaps = []
    for k in (1, 10, 100, 2000):
        est = L.importance_weighted_log_likelihood(x, enc, model.log_lik, k, batch_size=7, seed=3)
        gaps.append(float((exact - est).mean()))
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3] >= -0.01, gaps
    assert gaps[0] > 1.0 and gaps[3] < 0.05, gaps  # ELBO loose, L_2000 close to log p(x)


def test_estimator_is_reproducible_and_batch_independent(lg):
    model, x = lg
    enc = _encode(model, shift=0.3)
    a = L.importance_weighted_log_likelihood(x, enc, model.log_lik, 5, batch_size=40, seed=9)
    b = L.importance_weighted_log_likelihood(x, enc, model.log_lik, 5, batch_size=40, seed=9)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (len(x),)


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_bad_k_is_a_clear_error(lg, k):
    model, x = lg
    with pytest.raises(ValueError, match="k .*integer >= 1"):
        L.importance_weighted_log_likelihood(x, _encode(model), model.log_lik, k)


def test_bad_callables_are_clear_errors(lg):
    model, x = lg
    with pytest.raises(ValueError, match="encode must return"):
        L.importance_weighted_log_likelihood(x, lambda xb: (xb, xb[:, :2]), model.log_lik, 2)
    with pytest.raises(ValueError, match="one value per row"):
        L.importance_weighted_log_likelihood(x, _encode(model), lambda xr, z: z, 2)
    with pytest.raises(ValueError, match="non-empty"):
        L.importance_weighted_log_likelihood(x[:0], _encode(model), model.log_lik, 2)
