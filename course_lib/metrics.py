"""Reconstruction metrics, computed the same way in every notebook.

Mean squared error is averaged over every pixel of every example (images in [0, 1]), so a
number here can be compared with any other notebook's number and with PCA's.

Image-quality metrics for the convolutional and denoising notebooks: :func:`psnr` (MSE on a
log scale, in dB) and :func:`ssim` (structural similarity, Wang et al. 2004). Both take
batches of grey images, ``(N, H, W)`` or ``(N, H, W, 1)``, with pixels in
``[0, data_range]``, and average per-example values. Plain NumPy: no TensorFlow import.
"""

from __future__ import annotations

import numpy as np


def _pair(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes differ, {a.shape} vs {b.shape}.")
    if a.ndim < 2 or a.shape[0] == 0:
        raise ValueError(f"{what}: expected a non-empty batch (N, ...), got shape {a.shape}.")
    return a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)


def per_example_mse(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """MSE of each example, shape (N,)."""
    a, b = _pair(x, x_hat, "per_example_mse")
    return ((a - b) ** 2).mean(axis=1)


def mse(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Mean squared error over all pixels of all examples."""
    return float(per_example_mse(x, x_hat).mean())


# --------------------------------------------------------------------------------------------
# Image quality: PSNR and SSIM (notebooks 03 and 04)
# --------------------------------------------------------------------------------------------

#: PSNR reported for an example reconstructed exactly (MSE 0), instead of ``inf``. Any PSNR
#: above it is also reported as this value, so one perfect image cannot make a mean infinite.
PSNR_CAP_DB = 100.0

#: SSIM constants of Wang et al. (2004), the same defaults as ``tf.image.ssim``.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _check_data_range(data_range: float, what: str) -> float:
    if isinstance(data_range, bool) or not isinstance(data_range, int | float | np.number):
        raise TypeError(f"{what}: data_range must be a number such as 1.0, got {data_range!r}.")
    value = float(data_range)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"{what}: data_range must be a positive number (1.0 for images in [0, 1], "
            f"255.0 for uint8 grey levels), got {data_range!r}."
        )
    return value


def validate_images(x: np.ndarray, what: str, data_range: float = 1.0) -> np.ndarray:
    """Check a batch of grey images and return it as an array, unchanged (no copy, no cast).

    Accepts ``(N, H, W)`` or ``(N, H, W, 1)`` with every pixel in ``[0, data_range]``, and
    raises a ``ValueError`` that says how to fix anything else (wrong rank, empty batch, more
    than one channel, NaNs, values out of range): every image function in the course assumes
    that range, and a silently wrong one gives numbers that look plausible but are not
    comparable. Shared by :mod:`course_lib.corruption` and :mod:`course_lib.baselines`.
    """
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{what}: expected numeric images, got dtype {arr.dtype}.")
    if not (arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] == 1)):
        raise ValueError(
            f"{what}: expected a batch of grey images with shape (N, H, W) or (N, H, W, 1), "
            f"got shape {arr.shape}. A single image needs a batch axis: x[None]."
        )
    if 0 in arr.shape:
        raise ValueError(f"{what}: expected a non-empty batch of images, got shape {arr.shape}.")
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{what}: the images contain NaN or infinite values.")
    if lo < 0.0 or hi > data_range:
        raise ValueError(
            f"{what}: pixel values must lie in [0, {data_range:g}], got values in "
            f"[{lo:.4g}, {hi:.4g}]. Scale uint8 images with x / 255, clip reconstructions of "
            f"an unbounded (linear) decoder with np.clip(x_hat, 0, {data_range:g}), or pass the "
            "matching data_range."
        )
    return arr


def _check_images(x: np.ndarray, what: str, data_range: float = 1.0) -> np.ndarray:
    """:func:`validate_images`, then float64 ``(N, H, W)`` (a trailing channel of 1 dropped)."""
    arr = validate_images(x, what, data_range)
    if arr.ndim == 4:
        arr = arr[..., 0]
    return arr.astype(np.float64, copy=False)


def _image_pair(
    x: np.ndarray, x_hat: np.ndarray, what: str, data_range: float
) -> tuple[np.ndarray, np.ndarray, float]:
    data_range = _check_data_range(data_range, what)
    if np.shape(x) != np.shape(x_hat):
        raise ValueError(f"{what}: shapes differ, {np.shape(x)} vs {np.shape(x_hat)}.")
    a = _check_images(x, what + " (x)", data_range)
    b = _check_images(x_hat, what + " (x_hat)", data_range)
    return a, b, data_range


def per_example_psnr(x: np.ndarray, x_hat: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio of each example in dB, shape (N,).

    ``PSNR_i = 10 log10(data_range^2 / MSE_i)``: +6 dB means the RMS error halved. An exact
    reconstruction (``MSE_i = 0``) would be ``inf``; it is reported as :data:`PSNR_CAP_DB`
    (100 dB) instead, and so is any larger value, so averages stay finite.
    """
    a, b, data_range = _image_pair(x, x_hat, "per_example_psnr", data_range)
    err = ((a - b) ** 2).reshape(a.shape[0], -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(data_range**2 / err)
    return np.minimum(db, PSNR_CAP_DB)


def psnr(x: np.ndarray, x_hat: np.ndarray, data_range: float = 1.0) -> float:
    """Mean over examples of the per-example PSNR in dB (capped at 100 dB, see
    :func:`per_example_psnr`).

    The mean of per-example PSNRs, not the PSNR of the overall MSE: it is the number usually
    reported for image restoration, and it is not dominated by the few worst images.
    """
    return float(per_example_psnr(x, x_hat, data_range).mean())


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian; its outer product with itself is the 2-D SSIM window."""
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of a batch (N, H, W) with the 1-D kernel ``g``.

    Adds ``len(g)`` shifted slices per axis instead of building sliding windows: the same
    result as a 2-D convolution with ``outer(g, g)``, vectorised over the batch and light on
    memory.
    """
    k = len(g)
    h_out, w_out = img.shape[1] - k + 1, img.shape[2] - k + 1
    rows = np.zeros((img.shape[0], h_out, img.shape[2]))
    for i, gi in enumerate(g):
        rows += gi * img[:, i : i + h_out, :]
    out = np.zeros((img.shape[0], h_out, w_out))
    for j, gj in enumerate(g):
        out += gj * rows[:, :, j : j + w_out]
    return out


def per_example_ssim(
    x: np.ndarray, x_hat: np.ndarray, data_range: float = 1.0, *, chunk: int = 1024
) -> np.ndarray:
    """Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) of each example, shape (N,).

    SSIM compares local means (luminance), variances (contrast) and covariance (structure)
    in an 11x11 Gaussian window (sigma 1.5), with ``C1 = (0.01 L)^2`` and ``C2 = (0.03 L)^2``
    for ``L = data_range``. The SSIM map is computed at every position where the window fits
    entirely inside the image ('valid' filtering: an 18x18 map for 28x28 images) and
    averaged per image. 1 means identical; unlike MSE it penalises blur and lost structure
    more than a small uniform brightness shift. The definition and defaults match
    ``tf.image.ssim(x, y, max_val=data_range)``, but this is plain NumPy in float64, so it
    needs no TensorFlow. Images must be at least 11x11. ``chunk`` images are processed at
    a time to bound memory.
    """
    a, b, data_range = _image_pair(x, x_hat, "per_example_ssim", data_range)
    if min(a.shape[1], a.shape[2]) < SSIM_WINDOW:
        raise ValueError(
            f"per_example_ssim: images must be at least {SSIM_WINDOW}x{SSIM_WINDOW} for the "
            f"{SSIM_WINDOW}x{SSIM_WINDOW} SSIM window, got {a.shape[1]}x{a.shape[2]}."
        )
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"per_example_ssim: chunk must be a positive integer, got {chunk!r}.")
    g = _gaussian_window()
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    out = np.empty(a.shape[0])
    for start in range(0, a.shape[0], chunk):
        xa, xb = a[start : start + chunk], b[start : start + chunk]
        mu_a, mu_b = _filter_valid(xa, g), _filter_valid(xb, g)
        var_a = _filter_valid(xa * xa, g) - mu_a**2
        var_b = _filter_valid(xb * xb, g) - mu_b**2
        cov = _filter_valid(xa * xb, g) - mu_a * mu_b
        ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
            (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
        )
        out[start : start + chunk] = ssim_map.reshape(ssim_map.shape[0], -1).mean(axis=1)
    return out


def ssim(x: np.ndarray, x_hat: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM over examples (see :func:`per_example_ssim`); 1.0 for identical images."""
    return float(per_example_ssim(x, x_hat, data_range).mean())
