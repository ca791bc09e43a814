"""Checkers for the coding exercises of notebook 06 (β-VAE and conditional VAE).

Three small functions a learner writes to understand the chapter's pieces:

- :func:`one_hot_condition` — the conditioning of a CVAE: a one-hot label concatenated to a
  batch of feature vectors (the flattened image for the encoder, the code ``z`` for the decoder);
- :func:`beta_elbo_terms` — the rate, the distortion and the β-weighted loss of a batch, in nats;
- :func:`frechet_gaussians` — the Fréchet distance between two Gaussians given their means and
  covariances (the formula behind the chapter's Fréchet distance in the judge's features).

In the notebook: ``from course_lib.checks import cvae as check``, then e.g.
``check.one_hot_condition(my_condition)`` as the last line of a cell. Each checker runs the
learner's function on a few cases (edge cases included), compares it with the reference answer
and, when the answer behaves exactly like a known mistake, says in plain words what is wrong
and what is right. The references agree with :mod:`course_lib.vae` (the conditional encoder
and decoder), :mod:`course_lib.likelihoods` and :func:`course_lib.frechet.frechet_distance`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function
from course_lib.frechet import _trace_sqrt_product

__all__ = ["beta_elbo_terms", "frechet_gaussians", "one_hot_condition"]


# --------------------------------------------------------------------------------------------
# One-hot conditioning
# --------------------------------------------------------------------------------------------


def _condition(features, labels, n_classes):
    features = np.asarray(features, dtype=np.float64)
    one_hot = np.eye(n_classes)[np.asarray(labels, dtype=int)]
    return np.concatenate([features, one_hot], axis=1)


def _condition_label_first(features, labels, n_classes):
    return np.concatenate([np.eye(n_classes)[np.asarray(labels, dtype=int)], features], axis=1)


def _condition_raw_label(features, labels, n_classes):
    return np.concatenate([features, np.asarray(labels, dtype=np.float64)[:, None]], axis=1)


def _condition_one_based(features, labels, n_classes):
    one_hot = np.eye(n_classes + 1)[np.asarray(labels, dtype=int)][:, 1:]
    return np.concatenate([features, one_hot], axis=1)


def _condition_fixed_ten(features, labels, n_classes):
    return np.concatenate([features, np.eye(10)[np.asarray(labels, dtype=int)]], axis=1)


_RNG = np.random.default_rng(6)
_CONDITION_CASES = [
    Case("4 codes of 8 numbers, labels 0, 3, 9, 3, 10 classes",
         (_RNG.standard_normal((4, 8)), np.array([0, 3, 9, 3]), 10)),
    Case("2 flattened 2x2 images, labels 1 and 0, 2 classes",
         (np.array([[0.0, 0.5, 1.0, 0.0], [1.0, 1.0, 0.0, 0.5]]), np.array([1, 0]), 2)),
    Case("one code, the last class of 5", (_RNG.standard_normal((1, 3)), np.array([4]), 5)),
]


def one_hot_condition(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(features, labels, n_classes)``: ``[features, one_hot(labels)]`` along axis 1.

    ``features`` is ``(N, D)``, ``labels`` ``(N,)`` integers in ``0..n_classes-1``; the result is
    ``(N, D + n_classes)``: the features first, then a row of ``n_classes`` numbers with a single
    1 at the label — the order the course's conditional encoder and decoder use.
    """
    return check_function(
        fn,
        exercise="one_hot_condition",
        reference=_condition,
        cases=_CONDITION_CASES,
        mistakes=[
            Mistake(_condition_label_first,
                    "you put the one-hot label before the features; the network would learn the "
                    "same either way, but the course's encoder and decoder concatenate "
                    "[features, one_hot(label)] — features first — so weights copied between "
                    "them must see the same order."),
            Mistake(_condition_raw_label,
                    "you appended the label as one number (shape (N, D + 1)); a class is not a "
                    "quantity — 9 is not 'more' than 3 — so give each class its own input: a "
                    "one-hot row of n_classes numbers with a 1 at the label (np.eye(n_classes)[labels])."),
            Mistake(_condition_one_based,
                    "your one-hot rows are shifted by one: label 0 must set the first column, "
                    "label n_classes - 1 the last (np.eye(n_classes)[labels])."),
            Mistake(_condition_fixed_ten,
                    "you always make 10 columns; use n_classes (the last case has 2 or 5 classes)."),
        ],
    )


# --------------------------------------------------------------------------------------------
# Rate, distortion and the β-weighted loss
# --------------------------------------------------------------------------------------------


def _softplus(a):
    return np.logaddexp(0.0, a)


def _terms(x, logits, mean, log_var, beta):
    x, logits = np.asarray(x, np.float64), np.asarray(logits, np.float64)
    mean, log_var = np.asarray(mean, np.float64), np.asarray(log_var, np.float64)
    n = len(x)
    log_px = (x * logits - _softplus(logits)).reshape(n, -1).sum(axis=1)
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var).sum(axis=1)
    rate, distortion = kl.mean(), -log_px.mean()
    return np.array([rate, distortion, distortion + beta * rate])


def _terms_beta_on_distortion(x, logits, mean, log_var, beta):
    rate, distortion, _ = _terms(x, logits, mean, log_var, 1.0)
    return np.array([rate, distortion, beta * distortion + rate])


def _terms_mean_over_dims(x, logits, mean, log_var, beta):
    x, logits = np.asarray(x, np.float64), np.asarray(logits, np.float64)
    mean, log_var = np.asarray(mean, np.float64), np.asarray(log_var, np.float64)
    log_px = (x * logits - _softplus(logits)).reshape(len(x), -1).mean(axis=1)
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var).mean(axis=1)
    rate, distortion = kl.mean(), -log_px.mean()
    return np.array([rate, distortion, distortion + beta * rate])


def _terms_bits(x, logits, mean, log_var, beta):
    return _terms(x, logits, mean, log_var, beta) / np.log(2.0)


def _terms_kl_sign(x, logits, mean, log_var, beta):
    x_, m_, lv_ = (np.asarray(a, np.float64) for a in (x, mean, log_var))
    rate_wrong = 0.5 * (np.exp(lv_) + m_**2 - 1.0 + lv_).sum(axis=1).mean()
    _, distortion, _ = _terms(x_, logits, m_, lv_, beta)
    return np.array([rate_wrong, distortion, distortion + beta * rate_wrong])


def _terms_sigmoid_probabilities(x, logits, mean, log_var, beta):
    """Bernoulli with the logits used as probabilities (clipped): forgot the sigmoid."""
    x, logits = np.asarray(x, np.float64), np.asarray(logits, np.float64)
    p = np.clip(logits, 1e-7, 1 - 1e-7)
    log_px = (x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1).sum(axis=1)
    rate, _, _ = _terms(x, logits, mean, log_var, beta)
    return np.array([rate, -log_px.mean(), -log_px.mean() + beta * rate])


def _elbo_cases() -> list[Case]:
    rng = np.random.default_rng(60)
    cases = []
    for name, n, shape, d, beta in (
        ("3 binary 4x4 images, 2-d codes, beta = 4", 3, (4, 4), 2, 4.0),
        ("5 binary 28x28 images, 8-d codes, beta = 0.5", 5, (28, 28), 8, 0.5),
        ("2 binary 3x3 images, 3-d codes, beta = 1 (the plain ELBO)", 2, (3, 3), 3, 1.0),
    ):
        x = (rng.random((n, *shape)) < 0.4).astype(np.float64)
        logits = rng.normal(0.0, 2.0, (n, *shape)).astype(np.float64)
        mean = rng.normal(0.0, 1.0, (n, d)).astype(np.float64)
        log_var = rng.normal(-1.0, 0.5, (n, d)).astype(np.float64)
        cases.append(Case(name, (x, logits, mean, log_var, beta)))
    return cases


_ELBO_CASES = _elbo_cases()


def beta_elbo_terms(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(x, logits, mean, log_var, beta)`` → ``(rate, distortion, loss)``, batch means in nats.

    ``x`` binary images ``(N, ...)``, ``logits`` the decoder's logits of the same shape,
    ``mean`` and ``log_var`` the encoder's ``(N, d)``. Rate: ``KL(q(z|x) || N(0, I))`` summed over
    the ``d`` dimensions; distortion: ``-log p(x|z)`` of independent Bernoulli pixels, summed over
    the pixels; both averaged over the batch; loss = distortion + beta * rate.
    """
    return check_function(
        fn,
        exercise="beta_elbo_terms",
        reference=_terms,
        cases=_ELBO_CASES,
        mistakes=[
            Mistake(_terms_beta_on_distortion,
                    "your rate and distortion are right but beta multiplies the distortion; "
                    "the beta-VAE weighs the KL term: loss = distortion + beta * rate."),
            Mistake(_terms_mean_over_dims,
                    "you average over the pixels and the latent dimensions; the ELBO is a log "
                    "density of the whole image, so sum the Bernoulli log-probabilities over "
                    "the pixels and the KL over the latent dimensions, then average over the batch."),
            Mistake(_terms_bits,
                    "your numbers are in bits (a factor 1/ln 2 off); the course works in nats: "
                    "natural logarithms throughout."),
            Mistake(_terms_kl_sign,
                    "the sign of log_var in your KL is wrong: KL = 0.5 * sum(exp(log_var) + "
                    "mean**2 - 1 - log_var), which is 0 when mean = 0 and log_var = 0 and "
                    "positive otherwise."),
            Mistake(_terms_sigmoid_probabilities,
                    "you used the logits as probabilities; a logit l is the probability "
                    "sigmoid(l), and log p(x|z) = sum(x * l - softplus(l)) (np.logaddexp(0, l) "
                    "is softplus) — stable even where the sigmoid saturates."),
        ],
        rtol=1e-4,
        atol=1e-4,
    )


# --------------------------------------------------------------------------------------------
# Fréchet distance between two Gaussians
# --------------------------------------------------------------------------------------------


def _frechet(mu_a, sigma_a, mu_b, sigma_b):
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b)
                 - 2.0 * _trace_sqrt_product(sigma_a, sigma_b))


def _frechet_norm_not_squared(mu_a, sigma_a, mu_b, sigma_b):
    sq = _frechet(mu_a, sigma_a, mu_b, sigma_b)
    diff = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
    return sq - float(diff @ diff) + float(np.linalg.norm(diff))


def _frechet_no_two(mu_a, sigma_a, mu_b, sigma_b):
    return _frechet(mu_a, sigma_a, mu_b, sigma_b) + _trace_sqrt_product(
        np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64))


def _frechet_elementwise_root(mu_a, sigma_a, mu_b, sigma_b):
    diff = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
    sa, sb = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    return float(diff @ diff + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(np.sqrt(np.abs(sa * sb))))


def _frechet_means_only(mu_a, sigma_a, mu_b, sigma_b):
    diff = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
    return float(diff @ diff)


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _frechet_cases() -> list[Case]:
    rng = np.random.default_rng(61)
    return [
        Case("two 1-d Gaussians N(0, 1) and N(3, 4)",
             (np.array([0.0]), np.array([[1.0]]), np.array([3.0]), np.array([[4.0]]))),
        Case("the same 3-d Gaussian twice (distance 0)",
             (np.ones(3), _spd(np.random.default_rng(1), 3), np.ones(3), _spd(np.random.default_rng(1), 3))),
        Case("two 4-d Gaussians with correlated (non-diagonal) covariances",
             (rng.standard_normal(4), _spd(rng, 4), rng.standard_normal(4), _spd(rng, 4))),
        Case("same mean, different 2-d covariances",
             (np.zeros(2), np.array([[2.0, 0.5], [0.5, 1.0]]), np.zeros(2), np.array([[1.0, -0.3], [-0.3, 0.5]]))),
    ]


_FRECHET_CASES = _frechet_cases()


def frechet_gaussians(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(mu_a, sigma_a, mu_b, sigma_b)``: the Fréchet distance between two Gaussians.

    ``||mu_a - mu_b||² + Tr(sigma_a + sigma_b - 2 (sigma_a sigma_b)^{1/2})`` with a *matrix*
    square root: ``Tr((sigma_a sigma_b)^{1/2})`` is the sum of the square roots of the eigenvalues
    of the symmetric ``sigma_a^{1/2} sigma_b sigma_a^{1/2}`` (``np.linalg.eigh``). It is 0 for identical
    Gaussians, and for 1-d Gaussians it is ``(mu_a - mu_b)² + (s_a - s_b)²`` (standard deviations).
    """
    return check_function(
        fn,
        exercise="frechet_gaussians",
        reference=_frechet,
        cases=_FRECHET_CASES,
        mistakes=[
            Mistake(_frechet_norm_not_squared,
                    "the mean term must be the *squared* distance ||mu_a - mu_b||² "
                    "(diff @ diff), not the norm: for N(0, 1) vs N(3, 4) the distance is "
                    "3² + (1 - 2)² = 10."),
            Mistake(_frechet_no_two,
                    "the cross term needs its factor 2: Tr(sigma_a + sigma_b - 2 (sigma_a sigma_b)^{1/2}); "
                    "without it two identical Gaussians are not at distance 0."),
            Mistake(_frechet_elementwise_root,
                    "you took the square root element by element (np.sqrt(sigma_a * sigma_b)); "
                    "it must be the matrix square root of the product sigma_a @ sigma_b, which "
                    "differs as soon as the covariances have off-diagonal terms: its trace is the "
                    "sum of the square roots of the eigenvalues of sigma_a^{1/2} @ sigma_b @ "
                    "sigma_a^{1/2} (get sigma_a^{1/2} from np.linalg.eigh)."),
            Mistake(_frechet_means_only,
                    "you compare only the means; the second term, Tr(sigma_a + sigma_b - "
                    "2 (sigma_a sigma_b)^{1/2}), compares the spreads — a generator that draws "
                    "the same average image every time must not score 0."),
        ],
        rtol=1e-4,
        atol=1e-6,
    )
