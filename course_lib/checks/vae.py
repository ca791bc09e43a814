"""Checkers for notebook 05's coding exercises (variational autoencoders).

``from course_lib.checks import vae as check`` and then, as the last line of a cell,

- ``check.gaussian_kl(my_kl)``: ``KL(N(mean, exp(log_var)) || N(0, I))`` per example, summed
  over the latent dimensions, in nats;
- ``check.reparameterize(my_reparameterize)``: ``z = mean + exp(log_var / 2) * eps``;
- ``check.iw_bound(my_iw_bound)``: the importance-weighted bound ``L_k`` from ``k`` log-weights
  per example, a numerically stable log-mean-exp;
- ``check.bits_per_dim(my_bits_per_dim)``: a negative log-likelihood in nats per image as
  bits per pixel.

Each checker runs the learner's function on small cases (edge cases included), compares it
with the reference and recognises the usual mistakes (a wrong sign, a missing sum over the
latent dimensions, the variance used as a standard deviation, a missing ``log k``, nats
instead of bits) to say in words what is wrong and what is right.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import Case, CheckResult, Mistake, check_function

__all__ = ["bits_per_dim", "gaussian_kl", "iw_bound", "reparameterize"]

_rng = np.random.default_rng(2024)

# ---------------------------------------------------------------------- the Gaussian KL


def _kl_reference(mean, log_var):
    mean, log_var = np.asarray(mean, np.float64), np.asarray(log_var, np.float64)
    return 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)


_KL_CASES = [
    Case("the prior itself (mean 0, log_var 0): KL must be 0", (np.zeros((2, 3)), np.zeros((2, 3)))),
    Case("one image, one dimension, mean 1, variance 1", (np.array([[1.0]]), np.array([[0.0]]))),
    Case("a narrow posterior (variance e^-2)", (np.array([[0.0, 0.5]]), np.array([[-2.0, -2.0]]))),
    Case("a batch of 4 images with 5 latent dimensions",
         (_rng.normal(size=(4, 5)), _rng.normal(scale=0.7, size=(4, 5)))),
]
_KL_MISTAKES = [
    Mistake(lambda m, v: -_kl_reference(m, v),
            "the sign is wrong: a KL divergence is never negative. It is "
            "0.5 * (exp(log_var) + mean**2 - 1 - log_var), summed over the latent dimensions."),
    Mistake(lambda m, v: 0.5 * (np.exp(v) + np.asarray(m) ** 2 - 1.0 - np.asarray(v)),
            "you return one KL per latent dimension, shape (N, d): sum over the last axis to get "
            "one KL per image, shape (N,) (the dimensions of a diagonal Gaussian are independent, "
            "so their KLs add)."),
    Mistake(lambda m, v: 0.5 * np.mean(np.exp(v) + np.asarray(m) ** 2 - 1.0 - np.asarray(v), axis=-1),
            "you average over the latent dimensions; the KL of a diagonal Gaussian is the *sum* of "
            "the per-dimension KLs (use sum, not mean, over the last axis)."),
    Mistake(lambda m, v: 2.0 * _kl_reference(m, v),
            "your KL is twice too large: the closed form has a factor 1/2, "
            "0.5 * (sigma^2 + mu^2 - 1 - log sigma^2)."),
    Mistake(lambda m, v: 0.5 * np.sum(np.exp(2 * np.asarray(v)) + np.asarray(m) ** 2 - 1.0 - 2 * np.asarray(v),
                                      axis=-1),
            "you treat log_var as log sigma (the log standard deviation). It is the log *variance*: "
            "sigma^2 = exp(log_var) and log sigma^2 = log_var."),
    Mistake(lambda m, v: _kl_reference(m, v) / math.log(2.0),
            "your KL is in bits; the course works in nats (natural log). Do not divide by ln 2."),
]


def gaussian_kl(fn: Callable) -> CheckResult:
    """Check ``fn(mean, log_var) -> KL per example`` against the closed form, in nats.

    ``mean`` and ``log_var`` have shape ``(N, d)``; the answer has shape ``(N,)``:
    ``0.5 * sum_j (exp(log_var_j) + mean_j**2 - 1 - log_var_j)``.
    """
    return check_function(
        fn, exercise="gaussian_kl", reference=_kl_reference, cases=_KL_CASES, mistakes=_KL_MISTAKES,
        hint="Per dimension: 0.5 * (exp(log_var) + mean**2 - 1 - log_var); then sum over the last axis.",
    )


# ---------------------------------------------------------------------- the reparameterisation


def _reparam_reference(mean, log_var, eps):
    return np.asarray(mean, np.float64) + np.exp(0.5 * np.asarray(log_var, np.float64)) * np.asarray(eps)


_REPARAM_CASES = [
    Case("log_var 0 (sigma 1): z = mean + eps", (np.array([[0.5, -1.0]]), np.zeros((1, 2)), np.array([[1.0, 2.0]]))),
    Case("eps 0: z must be the mean", (np.array([[3.0, -2.0]]), np.array([[1.0, -1.0]]), np.zeros((1, 2)))),
    Case("log_var 2 (variance e^2, sigma e)", (np.zeros((1, 3)), np.full((1, 3), 2.0), np.array([[1.0, -0.5, 0.25]]))),
    Case("a batch of 3 codes with 4 dimensions",
         (_rng.normal(size=(3, 4)), _rng.normal(size=(3, 4)), _rng.normal(size=(3, 4)))),
]
_REPARAM_MISTAKES = [
    Mistake(lambda m, v, e: np.asarray(m) + np.exp(np.asarray(v)) * np.asarray(e),
            "you scale eps by the variance exp(log_var); scale it by the standard deviation "
            "sigma = exp(log_var / 2)."),
    Mistake(lambda m, v, e: np.asarray(m) + np.asarray(v) * np.asarray(e),
            "you scale eps by log_var itself; log_var is the log of the variance, so the "
            "standard deviation is exp(log_var / 2)."),
    Mistake(lambda m, v, e: np.asarray(m) + np.exp(0.5 * np.asarray(v)) + np.asarray(e),
            "you add sigma to eps instead of multiplying: z = mean + sigma * eps."),
    Mistake(lambda m, v, e: np.exp(0.5 * np.asarray(v)) * np.asarray(e),
            "you forgot the mean: z = mean + sigma * eps, so the noise is centred on the encoder's mean."),
]


def reparameterize(fn: Callable) -> CheckResult:
    """Check ``fn(mean, log_var, eps) -> z = mean + exp(log_var / 2) * eps`` (all ``(N, d)``).

    ``eps`` is passed in (instead of drawn inside) so that the answer is deterministic.
    """
    return check_function(
        fn, exercise="reparameterize", reference=_reparam_reference, cases=_REPARAM_CASES,
        mistakes=_REPARAM_MISTAKES, hint="z = mean + exp(0.5 * log_var) * eps.",
    )


# ---------------------------------------------------------------------- the importance-weighted bound


def _iw_reference(log_w):
    log_w = np.asarray(log_w, np.float64)
    top = log_w.max(axis=0)
    return top + np.log(np.mean(np.exp(log_w - top), axis=0))


def _log_sum_exp(log_w):
    log_w = np.asarray(log_w, np.float64)
    top = log_w.max(axis=0)
    return top + np.log(np.sum(np.exp(log_w - top), axis=0))


def _naive_log_mean_exp(log_w):
    with np.errstate(divide="ignore", over="ignore"):
        return np.log(np.mean(np.exp(np.asarray(log_w, np.float64)), axis=0))


_IW_CASES = [
    Case("k = 1 (the bound is the ELBO: the single log-weight)", (np.array([[-3.0, -7.5]]),)),
    Case("k = 3 equal weights (the bound equals each log-weight)", (np.full((3, 2), -2.0),)),
    Case("k = 4, two images", (np.array([[0.0, -1.0], [-1.0, -2.0], [-2.0, -3.0], [-0.5, 1.0]]),)),
    Case("k = 1000 log-weights near -230 nats, as for a 28x28 image",
         (-230.0 + 3.0 * _rng.standard_normal((1000, 3)),)),
    Case("k = 50 log-weights near -1000 nats, as for a larger image",
         (-1000.0 + 2.0 * _rng.standard_normal((50, 2)),)),
]
_IW_MISTAKES = [
    Mistake(_log_sum_exp,
            "you compute log-sum-exp and forget to subtract log k: L_k averages the k weights "
            "inside the log, log((1/k) sum_i w_i) = logsumexp(log_w) - log(k)."),
    Mistake(lambda log_w: np.mean(np.asarray(log_w, np.float64), axis=0),
            "you average the log-weights: that is the ELBO estimate (the mean outside the log). "
            "L_k averages the weights themselves inside the log: log((1/k) sum_i exp(log_w_i))."),
    Mistake(_naive_log_mean_exp,
            "your formula is right on paper but not numerically: exp(-1000) underflows to 0 in "
            "floating point and the log gives -inf. Subtract the largest log-weight first: "
            "m + log(mean(exp(log_w - m))) with m = max over the k samples."),
    Mistake(lambda log_w: _iw_reference(np.asarray(log_w).T).T if np.ndim(log_w) == 2 else _iw_reference(log_w),
            "you reduce over the wrong axis: log_w has shape (k, N), k samples for each of N images; "
            "reduce over axis 0 to get one bound per image, shape (N,)."),
]


def iw_bound(fn: Callable) -> CheckResult:
    """Check ``fn(log_w) -> L_k`` per example, for log-weights ``log_w`` of shape ``(k, N)``.

    ``L_k = log((1/k) sum_i exp(log_w_i))``, computed stably as
    ``max + log(mean(exp(log_w - max)))`` over the ``k`` samples (axis 0). Log-weights of real
    images are hundreds of nats below zero (-1000 underflows a naive ``exp`` even in float64).
    """
    return check_function(
        fn, exercise="iw_bound", reference=_iw_reference, cases=_IW_CASES, mistakes=_IW_MISTAKES,
        rtol=1e-6, atol=1e-6,
        hint="m = max over axis 0; L_k = m + log(mean(exp(log_w - m), axis 0)).",
    )


# ---------------------------------------------------------------------- nats to bits per dimension


def _bpd_reference(nats, n_dims):
    return np.asarray(nats, np.float64) / (n_dims * math.log(2.0))


_BPD_CASES = [
    Case("784 ln 2 nats over 784 pixels is 1 bit per pixel", (784 * math.log(2.0), 784)),
    Case("230 nats per 28x28 image", (230.0, 784)),
    Case("several values at once, a 32x32x3 image", (np.array([3000.0, 6000.0]), 3072)),
]
_BPD_MISTAKES = [
    Mistake(lambda nats, d: np.asarray(nats, np.float64) / d,
            "you divide by the number of dimensions but not by ln 2: that is nats per dimension. "
            "One bit is ln 2 nats, so bits = nats / ln 2."),
    Mistake(lambda nats, d: np.asarray(nats, np.float64) / math.log(2.0),
            "you convert to bits but do not divide by the number of dimensions: that is bits per "
            "image. Divide by n_dims (784 pixels here) as well."),
    Mistake(lambda nats, d: np.asarray(nats, np.float64) * math.log(2.0) / d,
            "you multiply by ln 2 instead of dividing: one bit is ln 2 ≈ 0.693 nats, so there are "
            "more bits than nats (bits = nats / ln 2)."),
    Mistake(lambda nats, d: np.asarray(nats, np.float64) / (d * math.log(10.0)),
            "you divide by ln 10: that gives decimal digits (bans), not bits. Use ln 2."),
]


def bits_per_dim(fn: Callable) -> CheckResult:
    """Check ``fn(nats, n_dims) -> bits per dimension`` (``nats / (n_dims * ln 2)``)."""
    return check_function(
        fn, exercise="bits_per_dim", reference=_bpd_reference, cases=_BPD_CASES, mistakes=_BPD_MISTAKES,
        hint="bits per dimension = nats / (n_dims * ln 2).",
    )
