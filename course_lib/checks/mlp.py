"""Checkers for notebook 01's coding exercises: PSNR, the linear autoencoder's closed form,
and the parameter count of a dense autoencoder.

``from course_lib.checks import mlp as check`` in the notebook, then e.g.
``check.psnr(my_psnr)``. Each checker runs the learner's function on small inputs (edge
cases included) and says in plain words what is wrong and what is right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function

__all__ = ["best_linear_reconstruction", "dense_autoencoder_params", "psnr"]


def _flat(x: Any) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    return arr.reshape(arr.shape[0], -1)


# --------------------------------------------------------------------------- PSNR


def _psnr_reference(x: np.ndarray, x_hat: np.ndarray) -> float:
    per_image_mse = ((_flat(x) - _flat(x_hat)) ** 2).mean(axis=1)
    return float(np.mean(10.0 * np.log10(1.0 / per_image_mse)))


def _psnr_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    x = rng.random((4, 6, 6))
    # Errors of very different sizes per image, so the mean of per-image PSNRs differs
    # clearly from the PSNR of the mean MSE.
    scale = np.array([0.01, 0.05, 0.1, 0.3])[:, None, None]
    x_hat = x + scale * rng.standard_normal(x.shape)
    one = rng.random((1, 5, 5))
    return [
        Case("one image, every pixel off by 0.1", (np.full((1, 3, 3), 0.5), np.full((1, 3, 3), 0.6))),
        Case("four images with small to large errors", (x, x_hat)),
        Case("a single random 5x5 image", (one, np.clip(one + 0.05, 0.0, 1.0))),
    ]


def psnr(fn: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    """Check ``fn(x, x_hat) -> float``: the mean over images of ``10·log10(1 / MSE_i)`` (dB).

    Pixels are in [0, 1], so the peak value is 1. Recognised mistakes: the PSNR of the mean
    MSE (``10·log10(1 / mean MSE)``, not the course's mean of per-image PSNRs), ``20·log10``
    of the MSE (20 goes with the RMS error), the natural log instead of log10, and returning
    one PSNR per image without the mean.
    """
    return check_function(
        fn,
        exercise="psnr",
        reference=_psnr_reference,
        cases=_psnr_cases(),
        mistakes=[
            Mistake(lambda x, x_hat: float(10 * np.log10(1 / ((_flat(x) - _flat(x_hat)) ** 2).mean())),
                    "you compute the PSNR of the mean MSE over all images, 10·log10(1 / mean MSE). "
                    "The course reports the mean of the per-image PSNRs: compute MSE_i per image "
                    "(mean over that image's pixels), then 10·log10(1 / MSE_i), then average."),
            Mistake(lambda x, x_hat: float(np.mean(
                        20 * np.log10(1 / ((_flat(x) - _flat(x_hat)) ** 2).mean(axis=1)))),
                    "you use 20·log10 of the MSE. The factor 20 goes with the RMS error "
                    "(20·log10(1 / RMSE)); with the MSE it is 10·log10(1 / MSE_i)."),
            Mistake(lambda x, x_hat: float(np.mean(
                        10 * np.log(1 / ((_flat(x) - _flat(x_hat)) ** 2).mean(axis=1)))),
                    "you use the natural log (np.log). Decibels use the base-10 log: np.log10."),
            Mistake(lambda x, x_hat: 10 * np.log10(1 / ((_flat(x) - _flat(x_hat)) ** 2).mean(axis=1)),
                    "you return one PSNR per image. The exercise asks for one number: the mean of "
                    "the per-image PSNRs over the batch."),
            Mistake(lambda x, x_hat: float(np.mean(
                        10 * np.log10(1 / ((_flat(x) - _flat(x_hat)) ** 2).sum(axis=1)))),
                    "you sum the squared errors over an image's pixels instead of averaging them: "
                    "MSE_i is the mean over the image's pixels."),
        ],
        rtol=1e-4,
        atol=1e-4,
        hint="PSNR_i = 10·log10(1 / MSE_i), MSE_i = mean over the pixels of image i; return the mean "
             "over images.",
    )


# --------------------------------------------------------------------------- linear AE closed form


def _best_linear_reference(x_train: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    a, b = _flat(x_train), _flat(x)
    mean = a.mean(axis=0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    v = vt[:k].T
    return ((b - mean) @ v @ v.T + mean).reshape(np.shape(x))


def _uncentred(x_train: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    _, _, vt = np.linalg.svd(_flat(x_train), full_matrices=False)
    v = vt[:k].T
    return (_flat(x) @ v @ v.T).reshape(np.shape(x))


def _no_mean_back(x_train: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    a, b = _flat(x_train), _flat(x)
    mean = a.mean(axis=0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    v = vt[:k].T
    return ((b - mean) @ v @ v.T).reshape(np.shape(x))


def _last_k(x_train: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    a, b = _flat(x_train), _flat(x)
    mean = a.mean(axis=0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    v = vt[-k:].T
    return ((b - mean) @ v @ v.T + mean).reshape(np.shape(x))


def _closed_form_cases() -> list[Case]:
    rng = np.random.default_rng(1)
    # Data with a clear mean (+0.5) and decreasing variance per direction, so each mistake shows.
    basis = np.linalg.qr(rng.standard_normal((12, 12)))[0]
    scales = np.linspace(3.0, 0.1, 12)
    x_train = 0.5 + (rng.standard_normal((200, 12)) * scales) @ basis.T
    x_test = 0.5 + (rng.standard_normal((5, 12)) * scales) @ basis.T
    images = 0.5 + 0.1 * rng.standard_normal((100, 3, 4))
    return [
        Case("200 training vectors of 12 numbers, k=3", (x_train, x_test, 3)),
        Case("k=1", (x_train, x_test, 1)),
        Case("images of shape 3x4 (flatten, then reshape back), k=2", (images, images[:4], 2)),
    ]


def best_linear_reconstruction(fn: Callable[[np.ndarray, np.ndarray, int], Any]) -> CheckResult:
    """Check ``fn(x_train, x, k)``: what the best linear autoencoder with a ``k``-number code
    outputs for ``x``, computed in closed form with the SVD of the centred training data.

    ``x_hat = mean + (x - mean) V_k V_kᵀ`` where ``V_k`` holds the top-``k`` right singular
    vectors of ``x_train - mean``; same shape as ``x``. Recognised mistakes: not centring,
    centring but not adding the mean back, and taking the last ``k`` singular vectors.
    """
    return check_function(
        fn,
        exercise="best_linear_reconstruction",
        reference=_best_linear_reference,
        cases=_closed_form_cases(),
        mistakes=[
            Mistake(_uncentred,
                    "you take the SVD of the raw data without subtracting the mean. The affine "
                    "autoencoder has biases, which take care of the mean: subtract the training "
                    "mean before the SVD, project, then add it back."),
            Mistake(_no_mean_back,
                    "you centre the data but do not add the mean back: the output is centred "
                    "around 0, not around the average image. Return mean + (x - mean) V_k V_kᵀ."),
            Mistake(_last_k,
                    "you use the last k singular vectors, the directions of *least* variance. "
                    "np.linalg.svd sorts singular values in decreasing order: take Vt[:k]."),
        ],
        rtol=1e-5,
        atol=1e-6,
        hint="Centre with the training mean, take Vt[:k] from np.linalg.svd(centred, "
             "full_matrices=False), project (x - mean) onto it, add the mean back, reshape like x.",
    )


# --------------------------------------------------------------------------- parameter count


def _params_reference(d: int, hidden: Sequence[int], k: int) -> int:
    widths = [d, *hidden, k, *reversed(tuple(hidden)), d]
    return int(sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True)))


def _params_no_bias(d: int, hidden: Sequence[int], k: int) -> int:
    widths = [d, *hidden, k, *reversed(tuple(hidden)), d]
    return int(sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True)))


def _params_encoder_only(d: int, hidden: Sequence[int], k: int) -> int:
    widths = [d, *hidden, k]
    return int(sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True)))


def _params_one_bias_per_layer(d: int, hidden: Sequence[int], k: int) -> int:
    widths = [d, *hidden, k, *reversed(tuple(hidden)), d]
    return int(sum(a * b + 1 for a, b in zip(widths[:-1], widths[1:], strict=True)))


def dense_autoencoder_params(fn: Callable[[int, Sequence[int], int], Any]) -> CheckResult:
    """Check ``fn(d, hidden, k) -> int``: the trainable parameters of a symmetric dense autoencoder.

    The encoder is ``d → hidden[0] → ... → k``, the decoder the mirror image back to ``d``;
    each Dense layer from ``a`` to ``b`` units has ``a·b`` weights and ``b`` biases.
    Recognised mistakes: forgetting the biases, counting the encoder only, and a single bias
    per layer instead of one per output unit.
    """
    return check_function(
        fn,
        exercise="dense_autoencoder_params",
        reference=_params_reference,
        cases=[
            Case("d=784, hidden=(256,), k=32 (this chapter's model)", (784, (256,), 32)),
            Case("no hidden layer: d=784, hidden=(), k=32", (784, (), 32)),
            Case("two hidden layers: d=10, hidden=(8, 4), k=2", (10, (8, 4), 2)),
        ],
        mistakes=[
            Mistake(_params_no_bias,
                    "you count the weights but not the biases: a Dense layer from a to b units has "
                    "a·b weights plus b biases (one per output unit)."),
            Mistake(_params_encoder_only,
                    "you count the encoder only. The decoder mirrors it (k → ... → d) and has its "
                    "own weights: add its layers too."),
            Mistake(_params_one_bias_per_layer,
                    "you give each layer a single bias. A Dense layer has one bias per output "
                    "unit: a·b + b."),
        ],
        rtol=0.0,
        atol=0.0,
        hint="List the widths d, hidden..., k, reversed hidden..., d and add a·b + b for each "
             "consecutive pair (a, b). Compare with model.count_params().",
    )
