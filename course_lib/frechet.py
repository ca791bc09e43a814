"""Fréchet distance between two sets of feature vectors (how far apart two image sets are).

Fit a Gaussian to each set of features -- mean ``mu`` and covariance ``Sigma`` -- and take
the Fréchet (2-Wasserstein) distance between the two Gaussians:

    d² = ||mu_a - mu_b||² + Tr(Sigma_a + Sigma_b - 2 (Sigma_a Sigma_b)^{1/2})

The first term compares where the two sets lie, the second how they spread. Both are zero
only if means and covariances agree, so a generator that produces a few good-looking images
over and over (right mean, too little spread) is penalised too.

**This is not FID.** The "Fréchet Inception Distance" of the GAN literature uses this formula
on the 2048-d features of an ImageNet Inception-v3 network. The course uses the 128-d
penultimate features of its own small, fixed Fashion-MNIST classifier (:mod:`course_lib.judge`),
so the values are on a different scale and must never be compared with published FIDs. They
are comparable with each other: same judge version, same feature space, across runs and
machines.

Two things to keep in mind when comparing numbers:

- The estimate is biased upwards by a finite sample size (sample means and covariances are
  noisy), the more so the smaller the sets are relative to the feature dimension. Compare
  distances computed from the **same number of samples** (thousands for 128-d features);
  two independent sets drawn from the same distribution give a small positive value, not 0.
- The square root of ``Sigma_a Sigma_b`` is computed stably (see :func:`frechet_distance`),
  so singular covariances -- fewer samples than dimensions, dead ReLU units -- are fine.

Plain NumPy in float64; it does not import TensorFlow.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .vectors import check_vectors


class _HasFeatures(Protocol):
    def features(self, x: np.ndarray) -> np.ndarray: ...


def _check_features(x: np.ndarray, what: str) -> np.ndarray:
    return check_vectors(
        x, what, "frechet_distance", row="sample", col="feature",
        shape_hint="Pass feature vectors (e.g. judge.features(images)), not images; a single "
        "feature per sample needs shape (N, 1).",
        nan_hint="Check the images or the model that produced them.",
    )


def _trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """``Tr((Sigma_a Sigma_b)^{1/2})`` for symmetric positive semi-definite matrices.

    ``Sigma_a Sigma_b`` is not symmetric, so a general matrix square root of it is slow and
    can return complex noise. Instead, with ``Sigma_a = U L U^T`` (``eigh``) and
    ``S = L^{1/2} U^T Sigma_b U L^{1/2}``: ``Sigma_a Sigma_b`` is similar to ``S`` (same
    eigenvalues), and ``S`` is symmetric PSD, so the trace of the root is the sum of the
    square roots of ``S``'s eigenvalues. Tiny negative eigenvalues from round-off are
    clipped to 0.
    """
    lam, u = np.linalg.eigh(sigma_a)
    root_lam = np.sqrt(np.clip(lam, 0.0, None))
    s = root_lam[:, None] * (u.T @ sigma_b @ u) * root_lam[None, :]
    s = 0.5 * (s + s.T)  # exactly symmetric for eigvalsh
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(s), 0.0, None)).sum())


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    ``feats_a`` is ``(N_a, d)``, ``feats_b`` is ``(N_b, d)``: the same ``d``, any ``N >= 2``
    (use equal and large ``N`` when comparing values; see the module docstring). Returns
    ``||mu_a - mu_b||² + Tr(Sigma_a + Sigma_b - 2 (Sigma_a Sigma_b)^{1/2})`` in float64,
    with the covariances estimated with ``ddof=1``. The result is symmetric in its
    arguments and never negative (round-off below zero is returned as 0.0).

    On the course judge's features (:meth:`course_lib.judge.Judge.features`) this is a
    Fréchet distance in *that classifier's* 128-d feature space -- **not** the Inception
    FID of the literature, so its values are not comparable with published FIDs. Use
    :func:`frechet_distance_images` to go straight from images.
    """
    a = _check_features(feats_a, "feats_a")
    b = _check_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"frechet_distance: the two sets have different feature dimensions, {a.shape[1]} "
            f"(feats_a {a.shape}) vs {b.shape[1]} (feats_b {b.shape}). Compute both with the "
            "same feature extractor."
        )
    mu_a, sigma_a = a.mean(axis=0), np.atleast_2d(np.cov(a, rowvar=False))
    mu_b, sigma_b = b.mean(axis=0), np.atleast_2d(np.cov(b, rowvar=False))
    diff = mu_a - mu_b
    value = (
        float(diff @ diff)
        + float(np.trace(sigma_a))
        + float(np.trace(sigma_b))
        - 2.0 * _trace_sqrt_product(sigma_a, sigma_b)
    )
    return max(value, 0.0)


def frechet_distance_images(
    judge: _HasFeatures, images_a: np.ndarray, images_b: np.ndarray
) -> float:
    """Fréchet distance between two image sets in the feature space of ``judge``.

    ``judge`` is the course's fixed classifier (``course_lib.judge.load_judge()``); the
    images are ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` floats in [0, 1] (the judge checks
    them). Equivalent to ``frechet_distance(judge.features(images_a),
    judge.features(images_b))``. Not Inception-FID: values are only comparable with other
    values from the same judge version and similar sample sizes.
    """
    return frechet_distance(judge.features(images_a), judge.features(images_b))


def within_class_spread(
    feats: np.ndarray,
    classes: np.ndarray,
    real_feats: np.ndarray,
    real_classes: np.ndarray,
) -> float:
    """How varied generated samples are within each class, relative to real images.

    For each class ``c`` present in ``real_classes``: the mean squared distance of the
    samples of class ``c`` to their own mean (the trace of their covariance) divided by the
    same quantity for the real images of class ``c``; the result is the mean of these ratios
    over the classes. 1 means as varied as the real images of the same classes, below 1 less
    varied (a sampler that sharpens -- a low temperature, strong guidance -- moves it down),
    0 means one image per class repeated. Unlike :func:`frechet_distance` it says nothing
    about *where* the samples lie, only how much they vary, so read the two together.

    ``feats`` ``(N, d)`` and ``real_feats`` ``(M, d)`` are feature vectors (the judge's, as for
    the Fréchet distance); ``classes`` and ``real_classes`` their integer class ids (for
    samples: the class that was asked for). Every class of ``real_classes`` needs at least
    two samples and two real images. Written for notebook 10's temperature and guidance
    sweeps and ``scripts/bench_vqvae.py``.
    """
    a = check_vectors(feats, "feats", "within_class_spread", row="sample", col="feature")
    b = check_vectors(real_feats, "real_feats", "within_class_spread", row="sample", col="feature")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"within_class_spread: feats has {a.shape[1]} features per sample, real_feats "
            f"{b.shape[1]}. Compute both with the same feature extractor."
        )
    ya, yb = np.asarray(classes), np.asarray(real_classes)
    for y, x, name in ((ya, a, "classes"), (yb, b, "real_classes")):
        if y.shape != (len(x),):
            raise ValueError(
                f"within_class_spread: {name} must hold one class id per row of its features "
                f"(shape ({len(x)},)), got shape {y.shape}."
            )
    ratios = []
    for c in np.unique(yb):
        fake, real = a[ya == c], b[yb == c]
        if len(fake) < 2 or len(real) < 2:
            raise ValueError(
                f"within_class_spread: class {c} has {len(fake)} sample(s) and {len(real)} real "
                "image(s); each class of real_classes needs at least two of both."
            )
        real_spread = np.mean(np.sum((real - real.mean(0)) ** 2, axis=1))
        if real_spread == 0:
            raise ValueError(f"within_class_spread: the real images of class {c} are all identical.")
        ratios.append(np.mean(np.sum((fake - fake.mean(0)) ** 2, axis=1)) / real_spread)
    return float(np.mean(ratios))
