"""Log-densities, the Gaussian KL and the importance-weighted log-likelihood (notebooks 05-07).

Every quantity is **per example and in nats** (natural log), summed over the pixels or
latent dimensions of that example -- the convention of the VAE literature, so a test NLL
here can be put next to a published one. :func:`bits_per_dim` converts.

The functions are written with ``keras.ops``, so the same code computes the training loss
inside a Keras model (on tensors, with gradients) and the evaluation numbers (on NumPy
arrays).

The estimator (Burda, Grosse & Salakhutdinov 2016, "Importance weighted autoencoders")::

    log p(x) >= L_k(x) = E[ log (1/k) sum_i p(x, z_i) / q(z_i | x) ],   z_i ~ q(z | x)

``L_1`` is the ELBO, ``L_k`` grows with ``k`` and tends to ``log p(x)``. A single draw of
``L_k`` with a large ``k`` is the standard test-NLL estimate of a VAE (Burda et al. and most
published tables use ``k = 5000``; notebook 05 uses 1000, whose remaining gap it measures).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

LOG_2PI = math.log(2.0 * math.pi)


def _sum_per_example(t):
    """Sum over every axis but the first: (N, ...) -> (N,)."""
    return ops.sum(ops.reshape(t, (ops.shape(t)[0], -1)), axis=-1)


def bernoulli_log_prob(x, logits):
    """``log p(x | logits)`` for binary ``x`` under independent Bernoulli pixels, shape (N,).

    Written with logits, not probabilities: ``x*l - softplus(l)`` is exact even where the
    sigmoid saturates, while ``log(sigmoid(l))`` underflows to ``-inf`` for ``l << 0``.
    """
    x = ops.cast(x, logits.dtype) if hasattr(logits, "dtype") else x
    return _sum_per_example(x * logits - ops.softplus(logits))


def gaussian_log_prob(x, mean, log_var):
    """``log N(x; mean, exp(log_var))`` with a diagonal covariance, shape (N,).

    ``log_var`` may be a tensor like ``mean`` or anything that broadcasts to it (a scalar
    for one shared variance).
    """
    log_var = ops.broadcast_to(ops.convert_to_tensor(log_var, dtype=mean.dtype), ops.shape(mean))
    return _sum_per_example(-0.5 * (LOG_2PI + log_var + ops.square(x - mean) / ops.exp(log_var)))


def standard_normal_log_prob(z):
    """``log N(z; 0, I)``, shape (N,)."""
    return _sum_per_example(-0.5 * (LOG_2PI + ops.square(z)))


def kl_per_dimension(mean, log_var):
    """``KL(N(mean, exp(log_var)) || N(0, 1))`` for each latent dimension, shape (N, d).

    Closed form: ``0.5 * (exp(log_var) + mean**2 - 1 - log_var)``, zero exactly when the
    posterior equals the prior in that dimension.
    """
    return 0.5 * (ops.exp(log_var) + ops.square(mean) - 1.0 - log_var)


def kl_standard_normal(mean, log_var):
    """``KL(q(z|x) || p(z))`` for a diagonal Gaussian ``q`` and ``p = N(0, I)``, shape (N,)."""
    return ops.sum(kl_per_dimension(mean, log_var), axis=-1)


def bits_per_dim(nats, n_dims: int) -> float | np.ndarray:
    """Convert a negative log-likelihood in nats per example to bits per dimension."""
    if n_dims < 1:
        raise ValueError(f"n_dims must be positive, got {n_dims}.")
    return np.asarray(nats) / (n_dims * math.log(2.0))


def check_binary(x: np.ndarray, what: str) -> np.ndarray:
    """Return ``x`` as float32 if every value is exactly 0 or 1; a clear error otherwise."""
    x = np.asarray(x)
    if x.size and not np.all((x == 0) | (x == 1)):
        raise ValueError(
            f"{what} needs binary images (every pixel 0 or 1) for a Bernoulli likelihood, got "
            f"values in {float(np.nanmin(x)):g}..{float(np.nanmax(x)):g} with "
            f"{int(np.sum((x != 0) & (x != 1)))} non-binary pixels. Binarise first, e.g. "
            "data.dynamic_binarize(x, rng=seed) (fixed seed for a test set)."
        )
    return x.astype(np.float32)


def importance_weighted_log_likelihood(
    x: np.ndarray,
    encode: Callable,
    log_likelihood: Callable,
    k: int = 1000,
    *,
    batch_size: int = 20,
    seed: int = 0,
) -> np.ndarray:
    """The importance-weighted estimate ``L_k(x)`` of ``log p(x)`` for every example, in nats.

    ``encode(x_batch) -> (mean, log_var)``: the diagonal-Gaussian proposal ``q(z|x)``.
    ``log_likelihood(x_rep, z) -> (m,)``: ``log p(x|z)`` for ``m`` rows of images ``x_rep``
    and codes ``z`` (the batch repeated ``k`` times, so ``m = k * batch``). The prior is
    ``N(0, I)``. With ``k = 1`` this is a one-sample ELBO estimate; the bound tightens as
    ``k`` grows. ``batch_size`` examples are scored at once (``k * batch_size`` decoder rows
    in memory). The draws are seeded, so the same call gives the same numbers.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k (the number of importance samples) must be an integer >= 1, got {k!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (N, ...), got shape {x.shape}.")
    k = int(k)
    rng = np.random.default_rng(seed)
    out = np.empty(len(x), dtype=np.float64)
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        b = len(xb)
        mean, log_var = (np.asarray(keras.ops.convert_to_numpy(t), np.float32) for t in encode(xb))
        if mean.shape != log_var.shape or mean.ndim != 2 or len(mean) != b:
            raise ValueError(
                f"encode must return (mean, log_var) of shape (batch, latent_dim); got "
                f"{mean.shape} and {log_var.shape} for a batch of {b}."
            )
        d = mean.shape[1]
        eps = rng.standard_normal((k, b, d)).astype(np.float32)
        std = np.exp(0.5 * log_var)
        z = mean[None] + std[None] * eps  # (k, b, d)
        log_q = -0.5 * (LOG_2PI + log_var[None] + eps**2).sum(-1)  # (k, b)
        log_p_z = -0.5 * (LOG_2PI + z**2).sum(-1)
        x_rep = np.broadcast_to(xb[None], (k, *xb.shape)).reshape(k * b, *xb.shape[1:])
        log_px_z = np.asarray(
            keras.ops.convert_to_numpy(log_likelihood(x_rep, z.reshape(k * b, d))), np.float64
        )
        if log_px_z.shape != (k * b,):
            raise ValueError(
                f"log_likelihood must return one value per row, shape ({k * b},); got "
                f"{log_px_z.shape}."
            )
        log_w = log_px_z.reshape(k, b) + log_p_z.astype(np.float64) - log_q.astype(np.float64)
        top = log_w.max(axis=0)
        out[start : start + b] = top + np.log(np.exp(log_w - top).mean(axis=0))
    return out
