"""Classical denoisers, the baselines a denoising autoencoder has to beat (notebook 04).

- :func:`median_filter`   the median of each ``size`` x ``size`` neighbourhood: removes
  salt-and-pepper noise while keeping edges
- :func:`gaussian_filter` a weighted local mean: reduces Gaussian noise, but blurs edges
- :func:`tune_filter`     choose a filter's parameter on validation data
- :func:`diffusion_inpaint` fill holes smoothly from their borders (the classical inpainting
  baseline)

"Tuned fairly": a baseline with a badly chosen parameter makes any model look good. So each
filter gets its parameter chosen by :func:`tune_filter` on the *same* validation images
(noisy input, clean target) that the autoencoder was selected with, and is then scored once
on the test set like the autoencoder.

Plain NumPy, vectorised over the batch, float32 out. Borders use reflect padding (NumPy's
``mode="reflect"``: ``d c b | a b c d | c b a``, the edge pixel is not repeated), so the
output has the input's shape. Inputs are batches of grey images with pixels in [0, 1],
``(N, H, W)`` or ``(N, H, W, 1)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from course_lib.metrics import mse, validate_images

#: Images processed at a time by :func:`median_filter`, to bound memory (the sliding
#: windows are copied when sorted: ``chunk * H * W * size^2`` floats).
_CHUNK = 1024


def _images(x: np.ndarray, what: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validated float32 ``(N, H, W)`` view or copy of ``x``, and ``x``'s original shape."""
    arr = validate_images(x, what)
    shape = arr.shape
    if arr.ndim == 4:
        arr = arr[..., 0]
    return arr.astype(np.float32, copy=False), shape


def median_filter(x: np.ndarray, size: int = 3) -> np.ndarray:
    """Median of the ``size`` x ``size`` neighbourhood of every pixel (reflect padding).

    ``size`` must be odd (so the window has a centre pixel) and at most the image side;
    ``size=1`` returns a copy. An isolated salt or pepper pixel is never the median of its
    3x3 window, so it disappears, while a straight edge survives -- which a linear filter
    cannot do.
    """
    what = "median_filter"
    imgs, shape = _images(x, what)
    if (
        isinstance(size, bool)
        or not isinstance(size, numbers.Integral)
        or size < 1
        or size % 2 == 0
    ):
        raise ValueError(
            f"{what}: size must be an odd positive integer (1, 3, 5, ...) so the window has a "
            f"centre pixel, got {size!r}."
        )
    size = int(size)
    if size > min(imgs.shape[1:]):
        raise ValueError(
            f"{what}: a {size}x{size} window is larger than the {imgs.shape[1]}x{imgs.shape[2]} "
            f"images; use size <= {min(imgs.shape[1:])}."
        )
    if size == 1:
        return imgs.astype(np.float32, copy=True).reshape(shape)
    r = size // 2
    middle = size * size // 2
    out = np.empty(imgs.shape, dtype=np.float32)
    for start in range(0, imgs.shape[0], _CHUNK):
        block = np.pad(imgs[start : start + _CHUNK], ((0, 0), (r, r), (r, r)), mode="reflect")
        windows = np.lib.stride_tricks.sliding_window_view(block, (size, size), axis=(1, 2))
        flat = windows.reshape(*windows.shape[:3], size * size)
        # The median of an odd number of values is the middle one: a partial sort suffices.
        out[start : start + _CHUNK] = np.partition(flat, middle, axis=-1)[..., middle]
    return out.reshape(shape)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian with radius ``ceil(3 sigma)`` (99.7 % of the mass)."""
    radius = math.ceil(3 * sigma)
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(k**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_filter(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels (separable, reflect padding).

    Filters rows then columns with :func:`gaussian_kernel` (radius ``ceil(3 sigma)``); the
    weights sum to 1, so flat regions and the image mean are preserved. ``sigma=0`` returns
    a copy. Larger ``sigma`` removes more noise and more detail: :func:`tune_filter` picks it.
    """
    what = "gaussian_filter"
    imgs, shape = _images(x, what)
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not np.isfinite(sigma):
        raise ValueError(f"{what}: sigma must be a finite number, got {sigma!r}.")
    if sigma < 0:
        raise ValueError(f"{what}: sigma is a standard deviation and must be >= 0, got {sigma!r}.")
    if sigma == 0:
        return imgs.astype(np.float32, copy=True).reshape(shape)
    g = gaussian_kernel(float(sigma))
    r = len(g) // 2
    h, w = imgs.shape[1:]
    padded = np.pad(imgs.astype(np.float64), ((0, 0), (r, r), (r, r)), mode="reflect")
    rows = np.zeros((imgs.shape[0], h, w + 2 * r))
    for i, gi in enumerate(g):
        rows += gi * padded[:, i : i + h, :]
    out = np.zeros((imgs.shape[0], h, w))
    for j, gj in enumerate(g):
        out += gj * rows[:, :, j : j + w]
    return out.astype(np.float32).reshape(shape)


FILTERS: dict[str, tuple[Callable[[np.ndarray, object], np.ndarray], str]] = {
    "median": (median_filter, "window sizes, e.g. (1, 3, 5)"),
    "gaussian": (gaussian_filter, "sigmas in pixels, e.g. (0.5, 0.75, 1.0, 1.5)"),
}


def tune_filter(
    kind: str, noisy_val: np.ndarray, clean_val: np.ndarray, params: Sequence
) -> tuple[object, float]:
    """Pick the filter parameter with the lowest validation MSE: ``(best_param, its_mse)``.

    ``kind`` is ``"median"`` (``params`` are window sizes) or ``"gaussian"`` (sigmas).
    Each candidate filters ``noisy_val`` and is scored by :func:`course_lib.metrics.mse`
    against ``clean_val``; ties go to the earlier parameter. Include the "do nothing" value
    (size 1 or sigma 0) in ``params`` so the baseline is never worse than the noisy input.
    Use the validation images the autoencoder was tuned on, then apply the returned
    parameter to the test set -- the same protocol for both, hence a fair comparison.
    """
    what = "tune_filter"
    if kind not in FILTERS:
        known = "; ".join(f"{k!r} (params: {v[1]})" for k, v in FILTERS.items())
        raise ValueError(f"{what}: unknown kind {kind!r}. Known kinds: {known}.")
    if np.shape(noisy_val) != np.shape(clean_val):
        raise ValueError(
            f"{what}: noisy_val and clean_val must be the same images, got shapes "
            f"{np.shape(noisy_val)} and {np.shape(clean_val)}."
        )
    validate_images(clean_val, f"{what} (clean_val)")
    candidates = list(params) if not isinstance(params, str) else []
    if not candidates:
        raise ValueError(
            f"{what}: params must be a non-empty sequence of {FILTERS[kind][1]}, got {params!r}."
        )
    apply = FILTERS[kind][0]
    best_param, best_mse = None, math.inf
    for p in candidates:
        score = mse(clean_val, apply(noisy_val, p))
        if score < best_mse:
            best_param, best_mse = p, score
    return best_param, float(best_mse)


def diffusion_inpaint(x: np.ndarray, mask: np.ndarray, iterations: int = 300) -> np.ndarray:
    """Fill the pixels where ``mask`` is True by *harmonic interpolation* from the known ones.

    Each missing pixel is repeatedly replaced by the mean of its four neighbours (Jacobi
    iterations of Laplace's equation, with the known pixels held fixed), starting from the
    mean of the known pixels. The result is the smoothest surface that matches the image at
    the hole's border -- the simplest classical inpainting method (the idea behind diffusion
    and PDE-based inpainting). It cannot invent structure that is not visible at the
    border, which is what a learned model adds. Known pixels are returned unchanged.
    ``mask`` is boolean with the images' shape (an ``(N, H, W)`` mask also fits
    ``(N, H, W, 1)`` images). ``iterations`` bounds the work: information travels about one
    pixel per iteration, and convergence needs roughly ``hole_size**2`` of them.
    """
    what = "diffusion_inpaint"
    arr, shape = _images(x, what)
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValueError(
            f"{what}: mask must be boolean (True = missing pixel), got dtype {m.dtype}; "
            "make one with corruption.block_mask(x.shape)."
        )
    if m.ndim == 4 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.shape != arr.shape:
        raise ValueError(
            f"{what}: mask shape {np.shape(mask)} does not match the images' shape {shape}."
        )
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 0:
        raise ValueError(f"{what}: iterations must be an integer >= 0, got {iterations!r}.")
    known = ~m
    n_known = known.sum(axis=(1, 2))
    if np.any(n_known == 0):
        raise ValueError(
            f"{what}: image {int(np.flatnonzero(n_known == 0)[0])} has no known pixels; "
            "there is nothing to interpolate from."
        )
    fill = (arr * known).sum(axis=(1, 2)) / n_known
    out = np.where(m, fill[:, None, None], arr).astype(np.float32)
    for _ in range(int(iterations)):
        padded = np.pad(out, ((0, 0), (1, 1), (1, 1)), mode="edge")
        avg = 0.25 * (
            padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]
        )
        out = np.where(m, avg, out)
    return out.reshape(shape)
